import { createHash } from 'node:crypto';
import { AppError, isAppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import { parseInput } from '../parse-input.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { deleteMany, readMany } from '../sessions/store-batches.ts';
import { ignoringConflict, retryOnConflict, RETRY } from '../state/cas-retry.ts';
import type { SharedChangeEvent } from '../state/shared-events.ts';
import type { InboxKeys } from './watch-keys.ts';
import {
  DEDUPE_WINDOW,
  EMPTY_INBOX,
  inboxHeadSchema,
  storedInboxEntrySchema,
  unreadOf,
  type InboxHead,
  type StoredInboxEntry,
} from './watch-records.ts';
import {
  inboxAckInputSchema,
  inboxListInputSchema,
  type InboxAckInput,
  type InboxAckResult,
  type InboxEntry,
  type InboxListInput,
  type InboxPage,
} from './watch-schemas.ts';

/** The page size of `list` when the caller names none. */
const DEFAULT_PAGE = 100;

/**
 * One agent's durable inbox of shared-state changes: what its subscriptions delivered
 * and it has not acknowledged yet. Entries are numbered 1, 2, 3, ... in order of
 * delivery; acknowledging through a number removes every entry up to it.
 */
export interface Inbox {
  /** Unacknowledged entries after `after` (default 0), at most `limit` (default 100). */
  list(input?: InboxListInput): Promise<InboxPage>;
  /**
   * Acknowledges every entry up to `through`, which removes them; acknowledging again
   * changes nothing. `through` past the last delivered entry is `InvalidInput`.
   */
  ack(input: InboxAckInput): Promise<InboxAckResult>;
  /** How many entries are unacknowledged. */
  unread(): Promise<number>;
}

export interface InboxContext {
  readonly kv: KvStore;
  readonly now: () => Date;
  /** Unread entries an inbox keeps; a delivery to a full inbox drops the oldest unread. */
  readonly maxUnread: number;
}

interface HeadEntry {
  readonly head: InboxHead;
  /** Absent while the inbox has never been written. */
  readonly etag: string | undefined;
}

/**
 * The records of one inbox (layout in `watch-keys.ts`). The head is the commit point of
 * everything: a delivery creates entry `last + 1` with create-if-absent and then moves
 * `last` onto it with one compare-and-swap, as `append-log.ts` does for session logs, so
 * `first..last` never has a gap and no acknowledged entry is overwritten. Entries below
 * `first` are deleted after the head moved past them, by whoever sees `swept < first`.
 */
function inboxRecords(ctx: InboxContext, keys: InboxKeys) {
  const { kv } = ctx;

  async function readHead(): Promise<HeadEntry> {
    const entry = await kv.get(keys.head);
    if (entry === undefined) return { head: EMPTY_INBOX, etag: undefined };
    return { head: decodeRecord(inboxHeadSchema, entry, keys.head), etag: entry.etag };
  }

  async function saveHead(current: HeadEntry, head: InboxHead): Promise<void> {
    await kv.save(keys.head, head, current.etag === undefined ? { ifAbsent: true } : { etag: current.etag });
  }

  /**
   * Commits `entry`, which exists in the store as entry `last + 1` of `current`: one CAS
   * on the head, `VersionConflict` if the head changed since. A full inbox drops its
   * oldest unread entry to make room, and counts it in `dropped`.
   */
  async function commit(current: HeadEntry, entry: StoredInboxEntry): Promise<InboxHead> {
    const { head } = current;
    const first = Math.max(head.first, entry.seq - ctx.maxUnread + 1);
    const next: InboxHead = {
      last: entry.seq,
      first,
      swept: head.swept,
      dropped: head.dropped + (first - head.first),
      recent: [...head.recent, entry.delivery].slice(-DEDUPE_WINDOW),
    };
    await saveHead(current, next);
    return next;
  }

  /** Deletes the entries below `first` that may still exist; idempotent. */
  async function sweep(head: InboxHead): Promise<void> {
    if (head.swept >= head.first) return;
    await deleteMany(kv, range(head.swept, head.first).map(keys.entry));
    await retryOnConflict(`sweep of ${keys.head}`, async () => {
      const current = await readHead();
      if (current.head.swept >= head.first) return;
      await saveHead(current, { ...current.head, swept: head.first });
    });
  }

  return { readHead, saveHead, commit, sweep };
}

/**
 * Delivers `event` to the inbox as seen by subscription `subscriptionId`, once: a
 * delivery id derived from both is recorded in the head's `recent` on commit, and a
 * delivery whose id is there does nothing.
 *
 * A crash between creating the entry and committing it leaves an uncommitted entry at
 * `last + 1`; the next delivery to this inbox meets it and commits it (the redelivery of
 * the same change then finds its id in `recent`). So a redelivery never adds a second
 * entry, unless more than `DEDUPE_WINDOW` other entries were committed to this inbox in
 * between: `recent` has forgotten the first by then, and the change is delivered again.
 * One more window leaves garbage, never a wrong answer: a delivery that stalls between
 * reading the head and creating entry `last + 1` while others fill, acknowledge and
 * sweep that slot re-creates it below `first`; it deletes it when it retries, but if it
 * dies first the record stays, unread by anyone.
 */
export async function deliverToInbox(
  ctx: InboxContext,
  keys: InboxKeys,
  subscriptionId: string,
  event: SharedChangeEvent,
): Promise<void> {
  const { kv } = ctx;
  const records = inboxRecords(ctx, keys);
  const delivery = deliveryId(subscriptionId, event.id);
  // The entry this call created, if any, until it is committed.
  let created: number | undefined;
  const committed = await retryOnConflict(`delivery to ${keys.head}`, async () => {
    const current = await records.readHead();
    const { head } = current;
    if (head.recent.includes(delivery)) return head;
    if (created !== undefined && created <= head.last) {
      // Committed and still unread: `recent` forgot it only because of a flood.
      if (created >= head.first) return head;
      // Below `first`: acknowledged already, or the head moved past this slot and swept
      // it before our create-if-absent re-created it. Either way it is garbage now.
      await kv.delete(keys.entry(created));
      created = undefined;
    }
    const entry: StoredInboxEntry = {
      seq: head.last + 1,
      subscription_id: subscriptionId,
      event: {
        id: event.id,
        key: event.key,
        version: event.version,
        owner_agent: event.owner_agent,
        operation: event.operation,
        at: event.at,
      },
      delivered_at: ctx.now().toISOString(),
      delivery,
    };
    try {
      await kv.save(keys.entry(entry.seq), entry, { ifAbsent: true });
      created = entry.seq;
    } catch (error) {
      if (!isAppError(error, 'VersionConflict')) throw error;
      // Another delivery claimed the slot and has not committed it, maybe because it
      // crashed: commit it for them, then start over.
      const found = await kv.get(keys.entry(entry.seq));
      if (found !== undefined) {
        const other = decodeEntry(keys, entry.seq, found);
        await ignoringConflict(() => records.commit(current, other));
      }
      return RETRY;
    }
    return records.commit(current, entry);
  });
  await records.sweep(committed);
}

/** The inbox of one agent. */
export function openInbox(ctx: InboxContext, keys: InboxKeys): Inbox {
  const { kv } = ctx;
  const records = inboxRecords(ctx, keys);

  return {
    async list(input = {}) {
      const { after = 0, limit = DEFAULT_PAGE } = parseInput(inboxListInputSchema, input, 'inbox page');
      let { head } = await records.readHead();
      const from = Math.max(after + 1, head.first);
      const to = Math.min(head.last, from + limit - 1);
      const seqs = range(from, to + 1);
      const found = await readMany(kv, seqs.map(keys.entry));
      const missing = seqs.filter((seq) => !found.has(keys.entry(seq)));
      // An entry can vanish between the two reads only if it was acknowledged or
      // dropped meanwhile; anything else is a damaged store.
      if (missing.length > 0) head = (await records.readHead()).head;
      const entries = seqs
        .filter((seq) => seq >= head.first)
        .map((seq) => publicEntry(decodeEntry(keys, seq, found.get(keys.entry(seq)))));
      return {
        entries,
        count: entries.length,
        unread: unreadOf(head),
        dropped: head.dropped,
        ...(to < head.last ? { next_after: to } : {}),
      };
    },

    async ack(input) {
      const { through } = parseInput(inboxAckInputSchema, input, 'inbox acknowledgement');
      const head = await retryOnConflict(`acknowledgement of ${keys.head}`, async () => {
        const current = await records.readHead();
        const { head } = current;
        if (through > head.last)
          throw new AppError(
            'InvalidInput',
            `cannot acknowledge through ${through}: the last entry delivered is ${head.last}`,
            { details: { through, last: head.last } },
          );
        if (through < head.first) return head;
        const next = { ...head, first: through + 1 };
        await records.saveHead(current, next);
        return next;
      });
      await records.sweep(head);
      return { unread: unreadOf(head) };
    },

    async unread() {
      return unreadOf((await records.readHead()).head);
    },
  };
}

/** 128 bits of SHA-256 of both ids: short enough to keep a thousand in the head. */
function deliveryId(subscriptionId: string, eventId: string): string {
  return createHash('sha256').update(`${subscriptionId}\n${eventId}`).digest('base64url').slice(0, 22);
}

/** Entry `seq`, which must exist. */
function decodeEntry(keys: InboxKeys, seq: number, found: KvEntry | undefined): StoredInboxEntry {
  const storeKey = keys.entry(seq);
  if (found === undefined) throw new AppError('DatabaseError', `inbox entry ${storeKey} is missing`);
  const entry = decodeRecord(storedInboxEntrySchema, found, storeKey);
  if (entry.seq !== seq) throw new AppError('DatabaseError', `store record ${storeKey} holds another entry`);
  return entry;
}

function publicEntry({ delivery: _delivery, ...entry }: StoredInboxEntry): InboxEntry {
  return entry;
}

/** from..to-1. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
