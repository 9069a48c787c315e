import { AppError, isAppError } from '../errors.ts';

/** What a step of `retryOnConflict` answers to be run again from a fresh read. */
export const RETRY: unique symbol = Symbol('retry');

// A writer that keeps losing races gives up rather than spin; callers see DatabaseError.
const MAX_ATTEMPTS = 200;

/**
 * Runs `step` until it answers something other than `RETRY`, running it again whenever
 * it answers `RETRY` or throws `VersionConflict` (a compare-and-swap lost to another
 * writer). Every step must start from a fresh read, and nothing after its commit point
 * may be inside it: a retried step must never commit twice.
 */
export async function retryOnConflict<T>(what: string, step: () => Promise<T | typeof RETRY>): Promise<T> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      const result = await step();
      if (result !== RETRY) return result;
    } catch (error) {
      if (!isAppError(error, 'VersionConflict')) throw error;
    }
  }
  throw new AppError('DatabaseError', `${what} stayed contended after ${MAX_ATTEMPTS} attempts`);
}

/** Runs one compare-and-swap whose loss needs no retry: whoever won does the same work. */
export async function ignoringConflict(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!isAppError(error, 'VersionConflict')) throw error;
  }
}
