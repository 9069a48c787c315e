import type { EngineRuntime } from '../engine/engine-runtime.ts';
import { isLive, type Head } from '../engine/head-record.ts';
import type { VersionedRecords } from '../engine/versioned-records.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { ignoringConflict } from '../state/cas-retry.ts';
import { channelId, type ChannelValues } from './channel-values.ts';
import { checkpointPrefix, deadGenerationKey, parseCheckpointKey, writesPrefix } from './checkpoint-keys.ts';
import { taskWritesRecordSchema } from './checkpoint-records.ts';
import { channelsOf, decodeCheckpoint } from './checkpoint-reads.ts';
import type { ThreadHeads } from './thread-heads.ts';
import type { KeyIndex } from '../state/key-index.ts';

// Records of one generation removed per index page.
const PAGE = 100;
// Checkpoints beyond retention removed per put: a backlog shrinks by this much each time.
const PRUNE_PER_PUT = 20;

export interface ThreadCollectionOptions {
  readonly threads: ThreadHeads;
  readonly generation: (thread: string, number: number) => VersionedRecords;
  readonly valuesOf: (thread: string) => ChannelValues;
  readonly retention: number;
  readonly runtime: EngineRuntime;
  /** The agent's ended generations, for the sweep to collect again (`deadGenerationKey`). */
  readonly dead: KeyIndex;
  readonly now: () => Date;
}

/**
 * The background work of checkpoints, after the answer: removing the records of a
 * deleted or expired thread's generation (checkpoints, writes, channel values, blobs)
 * and pruning checkpoints beyond retention. Each step is idempotent, so work that a
 * dead worker left half done is finished by the next that meets it.
 */
export function threadCollection(options: ThreadCollectionOptions) {
  const { threads, generation, valuesOf, retention, runtime, dead, now } = options;

  async function removeCheckpoint(
    thread: string,
    records: VersionedRecords,
    head: Head,
    keep: ReadonlySet<string>,
  ) {
    const { checkpointNs } = parseCheckpointKey(head.key);
    const channels = channelsOf(checkpointNs, decodeCheckpoint(records, head)).filter(
      (at) => !keep.has(channelId(at)),
    );
    await valuesOf(thread).remove(records.keys.namespace, channels);
    await records.remove(head.key);
  }

  async function removeWrites(thread: string, records: VersionedRecords, head: Head) {
    const writes = decodeRecord(
      taskWritesRecordSchema,
      { value: head.value, etag: '' },
      records.keys.head(head.key),
    );
    await valuesOf(thread).removeBlobs(writes.writes.map((write) => write.value));
    await records.remove(head.key);
  }

  async function collectGeneration(thread: string, number: number) {
    const records = generation(thread, number);
    for (;;) {
      const page = await records.list({ prefix: '', limit: PAGE });
      for (const head of page.heads) {
        if (head.key.startsWith('c/')) await removeCheckpoint(thread, records, head, new Set());
        else await removeWrites(thread, records, head);
      }
      if (page.heads.length === 0) return;
    }
  }

  return {
    /** Removes every record of one generation, with their channel values and blobs. Idempotent. */
    collectGeneration,

    /**
     * Records that the life of `thread` in `head`'s generation ends now: call before the
     * commit that ends it, so that the sweep finds the generation even if this worker
     * dies before collecting it, and collects it again after writers that raced the end.
     */
    ending: (thread: string, head: Head) => dead.add(deadGenerationKey(now(), thread, head.since)),

    /** Removes what the life of `thread` that ended with `head` wrote. */
    collect(thread: string, head: Head): void {
      runtime.background.run(`collection of thread ${thread}`, async () => {
        const record = head.value as { order_key?: string };
        if (typeof record.order_key === 'string')
          await ignoringConflict(() => threads.order.remove(record.order_key as string));
        await collectGeneration(thread, head.since);
      });
    },

    /** Deletes an expired thread's head, unless a writer revived it, then collects it. */
    expire(thread: string, head: Head): void {
      runtime.background.run(
        `expiry of thread ${thread}`,
        async () => void (await this.expireNow(thread, head)),
      );
    },

    /** `expire`, answering once the head is gone (the collection follows in the background). */
    async expireNow(thread: string, head: Head): Promise<boolean> {
      await this.ending(thread, head);
      const outcome = await threads.heads.remove(thread, { expectedVersion: head.version });
      if (outcome.removed) this.collect(thread, outcome.previous);
      return outcome.removed;
    },

    /** Removes an order entry whose thread is gone or started a new life. */
    dropOrderEntry(key: string, head: Head | undefined): void {
      if (head !== undefined && isLive(head) && threads.live(head) === undefined) this.expire(head.key, head);
      runtime.background.run(`order entry ${key}`, () => ignoringConflict(() => threads.order.remove(key)));
    },

    /** Prunes the namespace's checkpoints beyond retention, with their writes. */
    afterPut(thread: string, number: number, checkpointNs: string): void {
      if (retention === 0) return;
      runtime.background.run(`retention of thread ${thread}`, async () => {
        const records = generation(thread, number);
        const page = await records.list({
          prefix: checkpointPrefix(checkpointNs),
          limit: retention + PRUNE_PER_PUT,
        });
        const kept = page.heads.slice(0, retention);
        const keep = new Set(
          kept.flatMap((head) => channelsOf(checkpointNs, decodeCheckpoint(records, head)).map(channelId)),
        );
        for (const head of page.heads.slice(retention)) {
          const { checkpointId } = parseCheckpointKey(head.key);
          const writes = await records.list({
            prefix: writesPrefix(checkpointNs, checkpointId),
            limit: 1000,
          });
          for (const entry of writes.heads) await removeWrites(thread, records, entry);
          await removeCheckpoint(thread, records, head, keep);
        }
      });
    },
  };
}

export type ThreadCollection = ReturnType<typeof threadCollection>;
