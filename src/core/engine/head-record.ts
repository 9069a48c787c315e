import { z } from 'zod';
import { parsedJsonSchema } from '../json.ts';

/** Versions are zero-padded in store keys so that they sort; 12 digits is 10^12 versions. */
export const VERSION_DIGITS = 12;
export const MAX_VERSION = 10 ** VERSION_DIGITS - 1;

/**
 * A size change committed on a head whose follow-up on the usage shards may not have
 * run yet. `at` (milliseconds since the epoch) lets a recount tell an intent still in
 * flight from one long settled (`usage-shards.ts`).
 */
export const usageIntentSchema = z.object({
  // Short (`newIntentId`), as usage shards keep hundreds of them; the 16-character ids
  // and UUIDs of earlier releases too.
  id: z.string().min(11).max(36),
  delta: z.int(),
  at: z.int().nonnegative(),
});
export type UsageIntent = z.infer<typeof usageIntentSchema>;

/**
 * A committed change whose after-commit work (the domain's `followUps`, e.g. publishing
 * it) may not have run yet: what any worker needs to run that work again. It stays on
 * the key's head, carried over by the writers after it, until a worker that ran the
 * work removes it (`follow-ups.ts`).
 */
export const followUpSchema = z.object({
  id: z.uuid(),
  version: z.int().min(1).max(MAX_VERSION),
  updated_at: z.iso.datetime(),
  deleted: z.literal(true).exactOptional(),
  meta: z.record(z.string(), parsedJsonSchema).exactOptional(),
});
export type FollowUp = z.infer<typeof followUpSchema>;

/**
 * The current state of one key of a namespace, as the engine stores it: the commit
 * point of every change. Decoded with this schema whenever read, never trusted.
 *
 * A delete leaves a tombstone that keeps `version`, so a re-created key continues after
 * it and its ETag never starts over (Redis restarts ETags at 1 after a physical delete,
 * which would make a stale ETag valid again). A tombstone is small: the collector
 * deletes its history and its index entry, after which it is marked `unindexed`.
 * Version 0 is a tombstone the collector wrote for a key whose creator never committed.
 */
export const headSchema = z
  .object({
    key: z.string(),
    value: parsedJsonSchema,
    version: z.int().min(0).max(MAX_VERSION),
    /** The version the key's current life began at: no version below it is visible. */
    since: z.int().min(0),
    /** Every history record below this version has been deleted. */
    pruned_below: z.int().min(0),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    size_bytes: z.int().nonnegative(),
    deleted: z.literal(true).exactOptional(),
    unindexed: z.literal(true).exactOptional(),
    pending: usageIntentSchema.exactOptional(),
    /** Committed changes, oldest first, whose after-commit work may not have run. */
    follow_ups: z.array(followUpSchema).min(1).exactOptional(),
    /** What the domain keeps beside the value (the last writer of a shared key). */
    meta: z.record(z.string(), parsedJsonSchema).exactOptional(),
  })
  .refine((head) => head.deleted !== true || (head.value === null && head.size_bytes === 0), {
    message: 'a tombstone holds no value',
  });
export type Head = z.infer<typeof headSchema>;

/** Version `version` of a key, written before the head moves past it and never changed. */
export const historyRecordSchema = z.object({
  value: parsedJsonSchema,
  version: z.int().min(1).max(MAX_VERSION),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  meta: z.record(z.string(), parsedJsonSchema).exactOptional(),
});
export type HistoryRecord = z.infer<typeof historyRecordSchema>;

export function isLive(head: Head): boolean {
  return head.deleted !== true;
}
