import { isAppError } from '../errors.ts';
import type { KvEntry } from '../../ports/kv-store.ts';
import { retryOnConflict } from './cas-retry.ts';
import type { KeyIndex } from './key-index.ts';
import { APPLIED_IDS_KEPT, decodeRecord, usageSchema, type Usage } from './persistent-records.ts';
import type { UsageCounter } from './persistent-usage.ts';
import { sharedQuotaExceeded } from './shared-errors.ts';
import { isLiveShared, readSharedHeads, type SharedStore } from './shared-heads.ts';
import type { SharedHead } from './shared-records.ts';

const EMPTY: Usage = { bytes: 0, applied: [] };

// A recount that keeps losing to concurrent writers leaves the decision to the counter.
const RECOUNT_ATTEMPTS = 5;
const RECOUNT_PAGE = 1000;

/**
 * The quota usage of one tenant's shared state, with the semantics and the accuracy
 * under concurrent writers of the persistent counter (`persistent-usage.ts`): one record
 * of the live values' bytes, to which each write's intent is applied once by id, and an
 * exact recount from the key index before any refusal.
 */
export function createSharedUsage(store: SharedStore, index: KeyIndex, quotaBytes: number): UsageCounter {
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
   * meanwhile; `undefined` if concurrent writes kept changing it. A head whose intent
   * the counter has not applied yet counts with its size before that write, because
   * applying the intent later adds the difference.
   */
  async function recount(): Promise<number | undefined> {
    for (let attempt = 0; attempt < RECOUNT_ATTEMPTS; attempt++) {
      const { usage, entry } = await readEntry();
      const applied = new Set(usage.applied);
      let bytes = 0;
      let after: string | undefined;
      do {
        const page = await index.list({ limit: RECOUNT_PAGE, ...(after === undefined ? {} : { after }) });
        for (const { head } of (await readSharedHeads(store, page.keys)).values())
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
      throw sharedQuotaExceeded(used, quotaBytes, delta);
    },
  };
}

function countedBytes(head: SharedHead, applied: ReadonlySet<string>): number {
  const size = isLiveShared(head) ? head.size_bytes : 0;
  const { pending } = head;
  return pending === undefined || applied.has(pending.id) ? size : size - pending.usage_delta;
}
