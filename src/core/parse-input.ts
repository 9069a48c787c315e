import { z } from 'zod';
import { AppError } from './errors.ts';

/**
 * `input` as `schema` parses it; `InvalidInput` naming every problem otherwise. Every
 * check runs before anything is read or written, so bad input writes nothing.
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new AppError('InvalidInput', `invalid ${what}: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  return parsed.data;
}
