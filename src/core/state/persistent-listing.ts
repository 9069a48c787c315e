import type { KeyIndex } from './key-index.ts';
import { listLive, type LiveListingOptions, type LivePage } from './live-listing.ts';
import { isLive, readHeads, type PersistentStore } from './persistent-heads.ts';
import type { Head } from './persistent-records.ts';
import type { RollForward } from './persistent-roll-forward.ts';

/** A page of live persistent heads (`listLive`), each rolled forward first. */
export function listLiveHeads(
  { store, index, rollForward }: { store: PersistentStore; index: KeyIndex; rollForward: RollForward },
  options: LiveListingOptions,
): Promise<LivePage<Head>> {
  return listLive(index, options, async (keys) => {
    const entries = await readHeads(store, keys);
    const heads: Head[] = [];
    for (const key of keys) {
      const entry = entries.get(key);
      if (entry === undefined) continue;
      if (rollForward.needed(entry.head)) await rollForward.run(entry);
      if (isLive(entry.head)) heads.push(entry.head);
    }
    return heads;
  });
}
