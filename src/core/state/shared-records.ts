import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Json } from '../json.ts';
import { idSchema } from '../identity/caller.ts';

/**
 * What shared state keeps beside a value on the engine's head (`meta`), and on each
 * committed change: the agent that wrote it (or, on a tombstone, deleted it). Decoded
 * whenever read, never trusted.
 */
export const sharedMetaSchema = z.object({ owner_agent: idSchema });
export type SharedMeta = z.infer<typeof sharedMetaSchema>;

/** The meta of a head or change read from `storeKey`; `DatabaseError` if it is damaged. */
export function sharedMetaOf(meta: Record<string, Json> | undefined, storeKey: string): SharedMeta {
  const parsed = sharedMetaSchema.safeParse(meta);
  if (!parsed.success)
    throw new AppError('DatabaseError', `store record ${storeKey} holds no valid shared-state writer`, {
      cause: parsed.error,
    });
  return parsed.data;
}
