import type { KeyIndex } from './key-index.ts';
import { listLive, type LiveListingOptions, type LivePage } from './live-listing.ts';
import { isLiveShared, readSharedHeads, type SharedStore } from './shared-heads.ts';
import type { SharedHead } from './shared-records.ts';
import type { SharedRollForward } from './shared-roll-forward.ts';

/** A page of live shared heads (`listLive`), what crashed writers left settled first. */
export function listLiveSharedHeads(
  { store, index, rollForward }: { store: SharedStore; index: KeyIndex; rollForward: SharedRollForward },
  options: LiveListingOptions,
): Promise<LivePage<SharedHead>> {
  return listLive(index, options, async (keys) => {
    const entries = await readSharedHeads(store, keys);
    const heads: SharedHead[] = [];
    for (const key of keys) {
      const entry = entries.get(key);
      if (entry === undefined) continue;
      await rollForward.settleIfAbandoned(entry);
      if (isLiveShared(entry.head)) heads.push(entry.head);
    }
    return heads;
  });
}
