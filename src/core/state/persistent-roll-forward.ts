import { retryOnConflict } from './cas-retry.ts';
import { isLive, readHead, type HeadEntry, type PersistentStore } from './persistent-heads.ts';
import type { Head } from './persistent-records.ts';
import { needsPruning, pruneHistory } from './persistent-retention.ts';
import type { UsageCounter } from './usage-counter.ts';

/**
 * Finishes, for whoever meets a head, what the writer that committed it may not have
 * lived to do. Every step is idempotent, so the writer, its crash's next reader and any
 * number of concurrent helpers can run it at once.
 */
export interface RollForward {
  /** Whether the head carries unfinished work: a pending intent, or a delete's history. */
  needed(head: Head): boolean;
  /** Does that work. The head's data does not change, so a reader may answer from it. */
  run(entry: HeadEntry): Promise<void>;
  /**
   * Applies the head's intent to the usage record and then clears it from the head.
   * Answers the head as it is afterwards if this call cleared the intent, or
   * `undefined` if another writer changed the head first (and so cleared it too).
   */
  settleIntent(entry: HeadEntry): Promise<HeadEntry | undefined>;
}

export function createRollForward(
  store: PersistentStore,
  usage: UsageCounter,
  retention: number,
): RollForward {
  const { kv, keys } = store;

  async function settleIntent(entry: HeadEntry): Promise<HeadEntry | undefined> {
    const intent = entry.head.pending;
    if (intent === undefined) return entry;
    // Usage first: a head without an intent must have its delta counted already.
    await usage.apply(intent);
    const { key } = entry.head;
    let known: HeadEntry | undefined = entry;
    return retryOnConflict(`intent on ${keys.head(key)}`, async () => {
      // The first attempt uses the head in hand; after a lost race, read it again.
      const current = known ?? (await readHead(store, key));
      known = undefined;
      if (current?.head.pending?.id !== intent.id) return undefined;
      const head = withoutIntent(current.head);
      return { head, etag: await kv.save(keys.head(key), head, { etag: current.etag }) };
    });
  }

  return {
    needed: (head) => head.pending !== undefined || (!isLive(head) && needsPruning(head, retention)),

    async run(entry) {
      const settled = await settleIntent(entry);
      if (settled !== undefined && !isLive(settled.head)) await pruneHistory(store, settled, retention);
    },

    settleIntent,
  };
}

function withoutIntent(head: Head): Head {
  const settled = { ...head };
  delete settled.pending;
  return settled;
}
