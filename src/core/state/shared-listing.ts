import type { KeyIndex } from './key-index.ts';
import { isLiveShared, readSharedHeads, type SharedStore } from './shared-heads.ts';
import type { SharedHead } from './shared-records.ts';
import type { SharedRollForward } from './shared-roll-forward.ts';

export interface SharedHeadsPage {
  /** Live heads sorted by key, what crashed writers left unfinished rolled forward. */
  readonly heads: SharedHead[];
  /** The last key of this page when more may follow. */
  readonly cursor?: string;
}

/**
 * Up to `limit` live keys starting with `prefix` after `after`, from the namespace's
 * index alone (no scans), with their heads. Index entries whose head is missing or a
 * tombstone are skipped and left alone: they are what a crash between an index update
 * and a head commit leaves, and one of them may belong to a creator about to commit.
 */
export async function listLiveSharedHeads(
  { store, index, rollForward }: { store: SharedStore; index: KeyIndex; rollForward: SharedRollForward },
  { prefix, limit, after }: { prefix: string; limit: number; after: string | undefined },
): Promise<SharedHeadsPage> {
  const heads: SharedHead[] = [];
  let resumeAfter = after;
  for (;;) {
    // Ask for no more than are still missing, so the page never has to be cut.
    const page = await index.list({
      prefix,
      limit: limit - heads.length,
      ...(resumeAfter === undefined ? {} : { after: resumeAfter }),
    });
    const entries = await readSharedHeads(store, page.keys);
    for (const key of page.keys) {
      const entry = entries.get(key);
      if (entry === undefined) continue;
      await rollForward.settleIfAbandoned(entry);
      if (isLiveShared(entry.head)) heads.push(entry.head);
    }
    if (page.cursor === undefined) return { heads };
    if (heads.length === limit) return { heads, cursor: page.cursor };
    resumeAfter = page.cursor;
  }
}
