import type { KeyIndex } from './key-index.ts';

export interface LivePage<R> {
  /** Live records sorted by key. */
  readonly records: R[];
  /** The last key of this page when more may follow. */
  readonly cursor?: string;
}

export interface LiveListingOptions {
  readonly prefix: string;
  readonly limit: number;
  /** Listing resumes after this key. */
  readonly after: string | undefined;
}

/**
 * Up to `limit` live keys starting with `prefix` after `after`, from the namespace's
 * index alone (no scans), with their records. `readLive` reads the records of one page
 * of index keys and answers the live ones in key order, having rolled forward whatever
 * their writers left unfinished. Index entries without a live record are skipped and
 * left alone: they are what a crash between an index update and a commit leaves, and
 * one of them may belong to a creator that is about to commit.
 */
export async function listLive<R>(
  index: KeyIndex,
  { prefix, limit, after }: LiveListingOptions,
  readLive: (keys: readonly string[]) => Promise<R[]>,
): Promise<LivePage<R>> {
  const records: R[] = [];
  let resumeAfter = after;
  for (;;) {
    // Ask for no more than are still missing, so the page never has to be cut.
    const page = await index.list({
      prefix,
      limit: limit - records.length,
      ...(resumeAfter === undefined ? {} : { after: resumeAfter }),
    });
    records.push(...(await readLive(page.keys)));
    if (page.cursor === undefined) return { records };
    if (records.length === limit) return { records, cursor: page.cursor };
    resumeAfter = page.cursor;
  }
}
