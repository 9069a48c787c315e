import { z } from 'zod';
import { isAppError } from '../errors.ts';
import { assertValidKeyPrefix, assertValidUserKey, USER_KEY_MAX_BYTES } from './user-key.ts';

// The zod forms of the key rules of `user-key.ts`, for the capability inputs. JSON
// Schema cannot say "bytes of UTF-8" or "no dot segment", so the rules are refinements
// that run the same checks the domain functions run again.

/** Turns an `assert…` check that throws `InvalidInput` into a zod refinement. */
export function refinedBy(check: (value: string) => void) {
  return (value: string, context: z.RefinementCtx) => {
    try {
      check(value);
    } catch (error) {
      if (!isAppError(error, 'InvalidInput')) throw error;
      context.addIssue({ code: 'custom', message: error.message });
    }
  };
}

/** A user key: 1 to 512 bytes of UTF-8, no control characters, no `.`/`..` segment. */
export const userKeySchema = z
  .string()
  .min(1)
  .max(USER_KEY_MAX_BYTES)
  .superRefine(refinedBy((key) => assertValidUserKey(key)))
  .describe(
    `Any text of 1 to ${USER_KEY_MAX_BYTES} bytes of UTF-8 without control characters or '.'/'..' path segments. Dotted names such as 'task.current' help to organise keys.`,
  );

/** A key prefix: like a key, but may be empty (every key). */
export const keyPrefixSchema = z
  .string()
  .max(USER_KEY_MAX_BYTES)
  .superRefine(refinedBy(assertValidKeyPrefix))
  .describe("Only keys that start with this text, e.g. 'task.'.");

/** The `cursor` a previous page answered: the last key it listed. */
export const keyCursorSchema = z
  .string()
  .max(USER_KEY_MAX_BYTES)
  .superRefine(refinedBy((cursor) => assertValidUserKey(cursor, 'cursor')))
  .describe('The cursor of the previous page, to continue after it.');
