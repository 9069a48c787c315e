import { isAppError } from '../core/errors.ts';

/** The code of the `AppError` `promise` rejected with, or `succeeded`; any other error is rethrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error.code;
    throw error;
  }
  return 'succeeded';
}
