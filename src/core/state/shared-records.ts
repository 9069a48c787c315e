import { z } from 'zod';
import { jsonSchema } from '../json.ts';
import { idSchema } from '../identity/caller.ts';
import { intentSchema } from './usage-counter.ts';

/**
 * The current state of one shared key as stored: its live version, or a tombstone
 * after a delete. Everything read back from the store is decoded with this schema
 * (`decodeRecord`), never trusted.
 *
 * Tombstones keep `version`, so a re-created key continues after it; they are never
 * removed, so the head's ETag never starts over (Redis restarts ETags at 1 after a
 * physical delete, which would make a stale ETag valid again). A tombstone's
 * `owner_agent` and `updated_at` name the delete.
 *
 * `pending` is the intent of the write that committed this head: the change is
 * committed, but its follow-ups may not have run yet — adding `usage_delta` to the usage
 * record (once, by `id`), the audit record and the change event with notification,
 * all identified by `id` (`shared-roll-forward.ts`). Every committed write carries one,
 * because every shared write is a Notify action.
 */
export const sharedHeadSchema = z
  .object({
    key: z.string(),
    value: jsonSchema,
    version: z.int().min(1),
    owner_agent: idSchema,
    updated_at: z.iso.datetime(),
    size_bytes: z.int().nonnegative(),
    deleted: z.literal(true).exactOptional(),
    pending: intentSchema.exactOptional(),
  })
  .refine((head) => head.deleted !== true || (head.value === null && head.size_bytes === 0), {
    message: 'a tombstone holds no value',
  });
export type SharedHead = z.infer<typeof sharedHeadSchema>;
