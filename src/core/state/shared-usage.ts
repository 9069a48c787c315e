import type { KeyIndex } from './key-index.ts';
import { sharedQuotaExceeded } from './shared-errors.ts';
import { readSharedHeads, type SharedStore } from './shared-heads.ts';
import { createUsageCounter, indexRecount, type UsageCounter } from './usage-counter.ts';

/** The quota usage of one tenant's shared state (`usage-counter.ts`), recounted from the heads its key index lists. */
export function createSharedUsage(store: SharedStore, index: KeyIndex, quotaBytes: number): UsageCounter {
  return createUsageCounter(store.kv, {
    key: store.keys.usage,
    quotaBytes,
    exceeded: sharedQuotaExceeded,
    recount: indexRecount(index, async (keys) =>
      [...(await readSharedHeads(store, keys)).values()].map(({ head }) => head),
    ),
  });
}
