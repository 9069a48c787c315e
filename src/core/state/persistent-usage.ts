import type { KeyIndex } from './key-index.ts';
import { quotaExceeded } from './persistent-errors.ts';
import { readHeads, type PersistentStore } from './persistent-heads.ts';
import { createUsageCounter, indexRecount, type UsageCounter } from './usage-counter.ts';

/**
 * The quota usage of one agent's persistent state (`usage-counter.ts`), recounted from
 * the heads its key index lists. Exact but for a live key missing from the index (see
 * `delete` in `persistent-state.ts`), which listing cannot see either.
 */
export function createPersistentUsage(
  store: PersistentStore,
  index: KeyIndex,
  quotaBytes: number,
): UsageCounter {
  return createUsageCounter(store.kv, {
    key: store.keys.usage,
    quotaBytes,
    exceeded: quotaExceeded,
    recount: indexRecount(index, async (keys) =>
      [...(await readHeads(store, keys)).values()].map(({ head }) => head),
    ),
  });
}
