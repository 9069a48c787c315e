import { z } from 'zod';
import { inboxEntrySchema } from './watch-schemas.ts';

// The records of watches as they are stored. Everything read back is decoded with these
// (`decodeRecord`), never trusted: a record that does not match is DatabaseError.

const timestamp = z.iso.datetime();
const count = z.int().nonnegative();
const seq = z.int().positive();

export const subscriptionRecordSchema = z.object({
  subscription_id: z.uuid(),
  session_id: z.uuid(),
  /** `''` when the subscription takes every change. */
  prefix: z.string(),
  created_at: timestamp,
  /** The hard expiry of the session: the subscription ends then at the latest. */
  until: timestamp,
});
export type SubscriptionRecord = z.infer<typeof subscriptionRecordSchema>;

/**
 * All subscriptions of one agent, changed by compare-and-swap only. The record is never
 * deleted, not even when it holds none: on Redis a stale compare-and-swap on a deleted
 * key inserts, and ETags start over after a delete, so a writer that read it long ago
 * could bring back what it held.
 */
export const agentSubscriptionsSchema = z.object({ subscriptions: z.array(subscriptionRecordSchema) });
export type AgentSubscriptions = z.infer<typeof agentSubscriptionsSchema>;

/** How many recent deliveries an inbox remembers, so that a redelivered change lands once. */
export const DEDUPE_WINDOW = 1000;

/**
 * The head of an agent's inbox: the entries `first..last` are the unread ones; entries
 * below `first` were acknowledged or dropped, and those below `swept` are deleted from
 * the store (`swept <= first`: the deletion of `swept..first-1` may be unfinished).
 * `recent` holds the delivery ids of the last `DEDUPE_WINDOW` entries committed.
 */
export const inboxHeadSchema = z
  .object({
    last: count,
    first: seq,
    swept: seq,
    dropped: count,
    recent: z.array(z.string()).max(DEDUPE_WINDOW),
  })
  .refine((head) => head.swept <= head.first && head.first <= head.last + 1, {
    message: 'inbox head must have swept <= first <= last + 1',
  });
export type InboxHead = z.infer<typeof inboxHeadSchema>;

export const EMPTY_INBOX: InboxHead = { last: 0, first: 1, swept: 1, dropped: 0, recent: [] };

/** An inbox entry as stored: with the delivery id that makes a redelivery land once. */
export const storedInboxEntrySchema = inboxEntrySchema.extend({ delivery: z.string() });
export type StoredInboxEntry = z.infer<typeof storedInboxEntrySchema>;

/** How many entries of the inbox are unread. */
export function unreadOf(head: InboxHead): number {
  return head.last - head.first + 1;
}
