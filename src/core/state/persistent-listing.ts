import type { KeyIndex } from './key-index.ts';
import { isLive, readHeads, type PersistentStore } from './persistent-heads.ts';
import type { Head } from './persistent-records.ts';
import type { RollForward } from './persistent-roll-forward.ts';

export interface LiveHeadsPage {
  /** Live heads sorted by key, whatever their writers left unfinished rolled forward. */
  readonly heads: Head[];
  /** The last key of this page when more may follow. */
  readonly cursor?: string;
}

export interface LiveHeadsOptions {
  readonly prefix: string;
  readonly limit: number;
  /** Listing resumes after this key. */
  readonly after: string | undefined;
}

/**
 * Up to `limit` live keys after `after`, from the namespace's index alone (no scans),
 * with their heads. Index entries whose head is missing or a tombstone are skipped and
 * left alone: they are what a crash between an index update and a head commit leaves,
 * and one of them may belong to a creator that is about to commit its head.
 */
export async function listLiveHeads(
  { store, index, rollForward }: { store: PersistentStore; index: KeyIndex; rollForward: RollForward },
  { prefix, limit, after }: LiveHeadsOptions,
): Promise<LiveHeadsPage> {
  const heads: Head[] = [];
  let resumeAfter = after;
  for (;;) {
    // Ask for no more than are still missing, so the page never has to be cut.
    const page = await index.list({
      prefix,
      limit: limit - heads.length,
      ...(resumeAfter === undefined ? {} : { after: resumeAfter }),
    });
    const entries = await readHeads(store, page.keys);
    for (const key of page.keys) {
      const entry = entries.get(key);
      if (entry === undefined) continue;
      if (rollForward.needed(entry.head)) await rollForward.run(entry);
      if (isLive(entry.head)) heads.push(entry.head);
    }
    if (page.cursor === undefined) return { heads };
    if (heads.length === limit) return { heads, cursor: page.cursor };
    resumeAfter = page.cursor;
  }
}
