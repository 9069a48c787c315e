import { z } from 'zod';
import { AppError } from '../errors.ts';
import { jsonSchema, type Json } from '../json.ts';

// Checks of the arguments of state.persistent.*, made before anything is read or
// written, so that bad input is InvalidInput and writes nothing.

/** The most entries one page of `list` or `query` answers. */
export const MAX_PAGE_LIMIT = 1000;

/** Throws `InvalidInput` unless `value` is a whole number from `min` to `max`. */
export function assertWholeNumber(
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new AppError('InvalidInput', `${name} must be a whole number from ${min} to ${max}, not ${value}`);
}

/** Throws `InvalidInput` unless `value` survives JSON encoding unchanged (no NaN, no undefined). */
export function assertJsonValue(value: Json): void {
  const parsed = jsonSchema.safeParse(value);
  if (!parsed.success)
    throw new AppError('InvalidInput', `value is not JSON: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
}
