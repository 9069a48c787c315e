import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { KvEntry } from '../../ports/kv-store.ts';

/**
 * Decodes a stored record with its schema. Nothing read back from the store is trusted:
 * a record that does not match is a damaged store, `DatabaseError`.
 */
export function decodeRecord<T>(schema: z.ZodType<T>, entry: KvEntry, storeKey: string): T {
  const parsed = schema.safeParse(entry.value);
  if (!parsed.success)
    throw new AppError(
      'DatabaseError',
      `store record ${storeKey} is damaged: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  return parsed.data;
}
