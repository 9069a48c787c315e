import { z } from 'zod';
import { jsonSchema } from '../json.ts';

// The outputs of the state.persistent.* capabilities, exactly as the spec lists them
// (plus `cursor` for pagination), so every surface can answer and document them.

const timestamp = z.iso.datetime();
const version = z.number().int().min(1);
const count = z.number().int().nonnegative();

export const persistentGetResultSchema = z.object({
  value: jsonSchema,
  version,
  found: z.literal(true),
  created_at: timestamp,
  updated_at: timestamp,
});
export type PersistentGetResult = z.infer<typeof persistentGetResultSchema>;

export const persistentSetResultSchema = z.object({
  version,
  /** 0 if the key did not exist (never written, or deleted). */
  previous_version: z.number().int().nonnegative(),
});
export type PersistentSetResult = z.infer<typeof persistentSetResultSchema>;

export const persistentDeleteResultSchema = z.object({ deleted: z.literal(true) });
export type PersistentDeleteResult = z.infer<typeof persistentDeleteResultSchema>;

export const persistentListResultSchema = z.object({
  entries: z.array(z.object({ key: z.string(), version, size_bytes: count, updated_at: timestamp })),
  count,
  /** The sum of the listed entries' `size_bytes`: of this page, not of the whole namespace. */
  total_size_bytes: count,
  /** Present when more keys may follow: pass it back as `cursor` for the next page. */
  cursor: z.string().exactOptional(),
});
export type PersistentListResult = z.infer<typeof persistentListResultSchema>;

export const persistentQueryResultSchema = z.object({
  entries: z.array(
    z.object({ key: z.string(), value: jsonSchema, version, created_at: timestamp, updated_at: timestamp }),
  ),
  count,
  cursor: z.string().exactOptional(),
});
export type PersistentQueryResult = z.infer<typeof persistentQueryResultSchema>;

export const persistentHistoryResultSchema = z.object({
  versions: z.array(z.object({ value: jsonSchema, version, created_at: timestamp, updated_at: timestamp })),
  count,
});
export type PersistentHistoryResult = z.infer<typeof persistentHistoryResultSchema>;
