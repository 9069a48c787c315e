import { expect } from 'vitest';
import { AppError, type ErrorCode } from '../../core/errors.ts';

/** Awaits `promise` and asserts it failed with an AppError of `code`. */
export async function expectAppError(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (!(error instanceof AppError))
      throw new Error(`expected AppError ${code}, got ${String(error)}`, { cause: error });
    expect(error.code, error.message).toBe(code);
    return error;
  }
  throw new Error(`expected AppError ${code}, but it succeeded with ${JSON.stringify(outcome)}`);
}

/** Retries `assertion` until it passes or `timeoutMs` runs out, then throws its last error. */
export async function eventually(
  assertion: () => Promise<void>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
