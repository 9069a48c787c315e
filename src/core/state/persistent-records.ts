import { z } from 'zod';
import { jsonSchema } from '../json.ts';
import { MAX_VERSION } from './persistent-keys.ts';
import { intentSchema } from './usage-counter.ts';

// The records of persistent state as they are stored. Everything read back from the
// store is decoded with these schemas, never trusted: a record that does not match is
// a damaged store, answered with DatabaseError.

const timestamp = z.iso.datetime();
const version = z.number().int().min(1).max(MAX_VERSION);

/**
 * The current state of one key: its live version, or a tombstone after a delete.
 * Tombstones keep `version`, so a re-created key continues after it; they are never
 * removed, so the head's ETag never starts over (Redis restarts ETags at 1 after a
 * physical delete, which would make a stale ETag valid again).
 */
export const headSchema = z
  .object({
    key: z.string(),
    value: jsonSchema,
    version,
    created_at: timestamp,
    updated_at: timestamp,
    size_bytes: z.number().int().nonnegative(),
    deleted: z.literal(true).exactOptional(),
    /**
     * Every history record below this version has been deleted. A re-created key starts
     * with it at its new version, so it also marks where the key's current life began.
     */
    pruned_below: z.number().int().min(1),
    pending: intentSchema.exactOptional(),
  })
  .refine((head) => head.deleted !== true || (head.value === null && head.size_bytes === 0), {
    message: 'a tombstone holds no value',
  });
export type Head = z.infer<typeof headSchema>;

/** Version `version` of a key, written before the head moves past it and never changed. */
export const historyRecordSchema = z.object({
  value: jsonSchema,
  version,
  created_at: timestamp,
  updated_at: timestamp,
});
export type HistoryRecord = z.infer<typeof historyRecordSchema>;
