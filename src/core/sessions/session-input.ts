import { z } from 'zod';
import { AppError } from '../errors.ts';
import { payloadTooLarge } from './session-errors.ts';

// Checks made before anything is read or written, so that bad input is InvalidInput or
// PayloadTooLarge and writes nothing.

/** `input` as `schema` parses it; `InvalidInput` naming every problem otherwise. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new AppError('InvalidInput', `invalid ${what}: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  return parsed.data;
}

/** Throws `PayloadTooLarge` if `bytes` is over `limit`. */
export function assertAtMost(what: string, bytes: number, limit: number): void {
  if (bytes > limit) throw payloadTooLarge(what, bytes, limit);
}
