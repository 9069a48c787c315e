import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isAppError, type AppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import { retryOnConflict } from './cas-retry.ts';
import type { KeyIndex } from './key-index.ts';
import { decodeRecord } from './stored-record.ts';

/**
 * A size change committed on a record (a persistent or shared head, a session value)
 * whose follow-up on the usage record may not have run yet: whoever reads the record
 * applies `usage_delta` (once, by `id`) and then clears it.
 */
export const intentSchema = z.object({ id: z.uuid(), usage_delta: z.number().int() });
export type Intent = z.infer<typeof intentSchema>;

/** How many applied intent ids the usage record remembers. */
export const APPLIED_IDS_KEPT = 1000;

/** The bytes of one namespace's live values, and the intents already counted in it. */
export const usageSchema = z.object({
  bytes: z.number().int(),
  applied: z.array(z.uuid()).max(APPLIED_IDS_KEPT),
});
export type Usage = z.infer<typeof usageSchema>;

/** What a recount needs of a stored record: its size, liveness and pending intent. */
export interface SizedRecord {
  readonly size_bytes: number;
  readonly deleted?: true;
  readonly pending?: Intent;
}

/**
 * The quota usage of one namespace: one record holding the bytes of its live values.
 *
 * A write commits its size change as an intent on the record it changes; the intent is
 * then applied here by compare-and-swap, once (the usage record remembers the ids of
 * the last `APPLIED_IDS_KEPT` intents it applied), by the writer or by whoever next reads
 * that record, and only then cleared from it. So the counter is exact once every
 * committed intent is applied, and counts an intent twice only if it stayed pending while
 * more than `APPLIED_IDS_KEPT` others were applied — a drift that a recount removes.
 *
 * Under concurrent writers the check reads the counter before the commit, so writers in
 * flight at the same moment do not see each other's deltas: together they can pass the
 * quota by at most the sum of their deltas. A recount before every refusal makes sure
 * nobody is refused because of a stale or drifted counter.
 */
export interface UsageCounter {
  /** The counter as stored; `{ bytes: 0, applied: [] }` before the first write. */
  read(): Promise<Usage>;
  /** Adds the intent's delta unless this intent was already applied. */
  apply(intent: Intent): Promise<void>;
  /**
   * Throws the quota error if adding `delta` bytes would pass the quota, after
   * recounting exactly. Writes nothing but a corrected counter.
   */
  assertRoomFor(delta: number): Promise<void>;
}

export interface UsageCounterOptions {
  /** The store key of the usage record. */
  readonly key: string;
  readonly quotaBytes: number;
  /**
   * The bytes of the namespace's live values, from the records themselves: a record
   * whose pending intent is not in `applied` counts with its size before that write,
   * because applying the intent later adds the difference.
   */
  readonly recount: (applied: ReadonlySet<string>) => Promise<number>;
  /** The error that refuses a write: `used` bytes stored, `requested` more would pass `limit`. */
  readonly exceeded: (used: number, limit: number, requested: number) => AppError;
}

const EMPTY: Usage = { bytes: 0, applied: [] };

// A recount that keeps losing to concurrent writers leaves the decision to the counter.
const RECOUNT_ATTEMPTS = 5;

export function createUsageCounter(kv: KvStore, options: UsageCounterOptions): UsageCounter {
  const { key, quotaBytes, recount, exceeded } = options;

  async function readEntry(): Promise<{ usage: Usage; entry: KvEntry | undefined }> {
    const entry = await kv.get(key);
    return { usage: entry === undefined ? EMPTY : decodeRecord(usageSchema, entry, key), entry };
  }

  function save(usage: Usage, entry: KvEntry | undefined): Promise<string> {
    return kv.save(key, usage, entry === undefined ? { ifAbsent: true } : { etag: entry.etag });
  }

  /** The exact usage, stored if the counter did not change meanwhile; `undefined` if it kept changing. */
  async function exactBytes(): Promise<number | undefined> {
    for (let attempt = 0; attempt < RECOUNT_ATTEMPTS; attempt++) {
      const { usage, entry } = await readEntry();
      const bytes = await recount(new Set(usage.applied));
      try {
        // Conditional on the counter read before the scan: had an intent been applied
        // since, the sum could count it twice, so the recount starts over.
        await save({ bytes, applied: usage.applied }, entry);
        return bytes;
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
      }
    }
    return undefined;
  }

  return {
    read: async () => (await readEntry()).usage,

    apply: (intent) =>
      retryOnConflict(`usage ${key}`, async () => {
        const { usage, entry } = await readEntry();
        if (usage.applied.includes(intent.id)) return;
        const applied = [...usage.applied, intent.id].slice(-APPLIED_IDS_KEPT);
        await save({ bytes: usage.bytes + intent.usage_delta, applied }, entry);
      }),

    async assertRoomFor(delta) {
      if (delta <= 0) return;
      const counted = (await readEntry()).usage.bytes;
      if (counted + delta <= quotaBytes) return;
      const used = (await exactBytes()) ?? counted;
      if (used + delta <= quotaBytes) return;
      throw exceeded(used, quotaBytes, delta);
    },
  };
}

/**
 * The bytes `record` adds to a recount: its size if live, minus the delta of a pending
 * intent the counter has not applied yet (applying it later adds the difference).
 */
export function countedBytes(record: SizedRecord, applied: ReadonlySet<string>): number {
  const size = record.deleted === true ? 0 : record.size_bytes;
  const { pending } = record;
  return pending === undefined || applied.has(pending.id) ? size : size - pending.usage_delta;
}

const RECOUNT_PAGE = 1000;

/**
 * A `recount` over the records a key index lists, read a page at a time by `readPage`;
 * records of keys that were never written are simply not answered.
 */
export function indexRecount(
  index: KeyIndex,
  readPage: (keys: readonly string[]) => Promise<Iterable<SizedRecord>>,
): (applied: ReadonlySet<string>) => Promise<number> {
  return async (applied) => {
    let bytes = 0;
    let after: string | undefined;
    do {
      const page = await index.list({ limit: RECOUNT_PAGE, ...(after === undefined ? {} : { after }) });
      for (const record of await readPage(page.keys)) bytes += countedBytes(record, applied);
      after = page.cursor;
    } while (after !== undefined);
    return bytes;
  };
}

/** A new intent to change usage by `delta`, or none if nothing changes. */
export function intentFor(delta: number): { pending?: Intent } {
  return delta === 0 ? {} : { pending: { id: randomUUID(), usage_delta: delta } };
}
