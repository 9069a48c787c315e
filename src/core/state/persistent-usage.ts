import { isAppError } from '../errors.ts';
import type { KvEntry } from '../../ports/kv-store.ts';
import { retryOnConflict } from './cas-retry.ts';
import type { KeyIndex } from './key-index.ts';
import { quotaExceeded } from './persistent-errors.ts';
import { isLive, readHeads, type PersistentStore } from './persistent-heads.ts';
import {
  APPLIED_IDS_KEPT,
  decodeRecord,
  usageSchema,
  type Head,
  type Intent,
  type Usage,
} from './persistent-records.ts';

/**
 * The quota usage of one namespace: one record holding the bytes of its live values.
 *
 * A write commits its size change as an intent on the key's head; the intent is then
 * applied here, by compare-and-swap, once (the record remembers the ids of the last
 * `APPLIED_IDS_KEPT` intents it applied), by the writer or by whoever next reads that
 * head. So the counter is exact once every committed intent has been applied, and
 * never counts an intent twice unless the intent stayed pending on its head while more
 * than `APPLIED_IDS_KEPT` others were applied (a crash followed by that many writes
 * before anyone touched the key) — a drift that `recount` removes.
 *
 * How exact the quota is under concurrent writers: the check reads the counter before
 * the commit, so writers in flight at the same moment do not see each other's deltas;
 * they can all pass and overshoot the quota by at most the sum of their deltas. The
 * counter itself does not drift from concurrency, and a recount before every refusal
 * makes sure nobody is refused because of a stale or drifted counter.
 */
export interface UsageCounter {
  /** The counter as stored; `{ bytes: 0, applied: [] }` before the first write. */
  read(): Promise<Usage>;
  /** Adds the intent's delta unless this intent was already applied. */
  apply(intent: Intent): Promise<void>;
  /**
   * Throws `QuotaExceeded` (details `used`, `limit`, `requested`) if adding `delta`
   * bytes would take the namespace past its quota, after recounting exactly. Writes
   * nothing but a corrected counter.
   */
  assertRoomFor(delta: number): Promise<void>;
}

const EMPTY: Usage = { bytes: 0, applied: [] };

// A recount that keeps losing to concurrent writers leaves the decision to the counter.
const RECOUNT_ATTEMPTS = 5;
const RECOUNT_PAGE = 1000;

export function createUsageCounter(
  store: PersistentStore,
  index: KeyIndex,
  quotaBytes: number,
): UsageCounter {
  const { kv, keys } = store;

  async function readEntry(): Promise<{ usage: Usage; entry: KvEntry | undefined }> {
    const entry = await kv.get(keys.usage);
    return { usage: entry === undefined ? EMPTY : decodeRecord(usageSchema, entry, keys.usage), entry };
  }

  function save(usage: Usage, entry: KvEntry | undefined): Promise<string> {
    return kv.save(keys.usage, usage, entry === undefined ? { ifAbsent: true } : { etag: entry.etag });
  }

  /**
   * Sums the live heads of the index and stores the sum, if the counter did not change
   * meanwhile. A head whose intent the counter has not applied yet counts with the size
   * it had before that write, because applying the intent later adds the difference.
   * Answers `undefined` if concurrent writes kept changing the counter. Exact but for a
   * live key missing from the index (see `delete` in `persistent-state.ts`), which
   * listing cannot see either.
   */
  async function recount(): Promise<number | undefined> {
    for (let attempt = 0; attempt < RECOUNT_ATTEMPTS; attempt++) {
      const { usage, entry } = await readEntry();
      const applied = new Set(usage.applied);
      let bytes = 0;
      let after: string | undefined;
      do {
        const page = await index.list({ limit: RECOUNT_PAGE, ...(after === undefined ? {} : { after }) });
        for (const { head } of (await readHeads(store, page.keys)).values())
          bytes += countedBytes(head, applied);
        after = page.cursor;
      } while (after !== undefined);
      try {
        // Conditional on the counter read before the scan: had any intent been applied
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
      retryOnConflict(`usage of ${keys.namespace}`, async () => {
        const { usage, entry } = await readEntry();
        if (usage.applied.includes(intent.id)) return;
        const applied = [...usage.applied, intent.id].slice(-APPLIED_IDS_KEPT);
        await save({ bytes: usage.bytes + intent.usage_delta, applied }, entry);
      }),

    async assertRoomFor(delta) {
      if (delta <= 0) return;
      const counted = (await readEntry()).usage.bytes;
      if (counted + delta <= quotaBytes) return;
      const used = (await recount()) ?? counted;
      if (used + delta <= quotaBytes) return;
      throw quotaExceeded(used, quotaBytes, delta);
    },
  };
}

function countedBytes(head: Head, applied: ReadonlySet<string>): number {
  const size = isLive(head) ? head.size_bytes : 0;
  const { pending } = head;
  return pending === undefined || applied.has(pending.id) ? size : size - pending.usage_delta;
}
