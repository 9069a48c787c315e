import type { LargeObjectStore } from '../../storage/large-object-store.ts';
import { isLive } from '../engine/head-record.ts';
import type { VersionedRecords } from '../engine/versioned-records.ts';
import type { KeyIndex } from '../state/key-index.ts';
import { decodeRecord } from '../state/stored-record.ts';
import type { ChannelValues } from './channel-values.ts';
import { parseCheckpointKey, parseDeadGenerationKey } from './checkpoint-keys.ts';
import { taskWritesRecordSchema } from './checkpoint-records.ts';
import { channelsOf, decodeCheckpoint } from './checkpoint-reads.ts';
import type { ThreadCollection } from './thread-collection.ts';
import type { LiveThread, ThreadHeads } from './thread-heads.ts';

// Thread heads and generation records read per page.
const PAGE = 100;

export interface ThreadSweepOptions {
  readonly threads: ThreadHeads;
  readonly collection: ThreadCollection;
  readonly dead: KeyIndex;
  readonly generation: (thread: string, number: number) => VersionedRecords;
  readonly valuesOf: (thread: string) => ChannelValues;
  readonly blobs: LargeObjectStore;
  /** Where a thread's blobs are (`blobPrefix`). */
  readonly blobPrefix: (thread: string) => string;
  readonly now: () => Date;
  /**
   * How long after a generation ended, or a blob was uploaded, a writer may still be
   * busy with it: a putWrites that read the thread head before a delete, an upload whose
   * put has not committed yet. Only what is older is collected.
   */
  readonly graceMs: number;
}

export interface SweepResult {
  /** Threads found expired and deleted. */
  readonly expired: number;
  /** Ended generations collected again. */
  readonly generations: number;
  /** Offloaded values that nothing names, deleted. */
  readonly blobs: number;
}

/**
 * One pass over an agent's threads that makes space come back without anybody reading
 * them: deletes expired threads (and collects them), collects ended generations again
 * once their grace has passed (records that a write racing the end left there), and
 * deletes blobs that no record names (uploads of puts that then failed). Every step is
 * idempotent, so sweeps of several workers at once only repeat each other's work.
 */
export function threadSweep(options: ThreadSweepOptions): () => Promise<SweepResult> {
  const { threads, collection, dead, generation, valuesOf, blobs, blobPrefix, now, graceMs } = options;

  async function collectEnded(horizon: number): Promise<{ generations: number; blobs: number }> {
    let generations = 0;
    let removedBlobs = 0;
    for (;;) {
      const page = await dead.list({ limit: PAGE });
      const due = page.keys.filter((key) => parseDeadGenerationKey(key).endedAt <= horizon);
      for (const key of due) {
        const { thread, generation: number } = parseDeadGenerationKey(key);
        await collection.collectGeneration(thread, number);
        // With no life left, no record names any of the thread's blobs.
        if (threads.live(await threads.read(thread)) === undefined)
          removedBlobs += await removeBlobsExcept(thread, new Set(), horizon);
        await dead.remove(key);
        generations++;
      }
      if (due.length < page.keys.length || page.cursor === undefined)
        return { generations, blobs: removedBlobs };
    }
  }

  async function removeBlobsExcept(thread: string, named: ReadonlySet<string>, horizon: number) {
    const prefix = blobPrefix(thread);
    let removed = 0;
    let cursor: string | undefined;
    do {
      const page = await blobs.list(prefix, { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      for (const manifest of page.items) {
        const blob = manifest.key.slice(prefix.length);
        if (named.has(blob) || Date.parse(manifest.created_at) > horizon) continue;
        if (await blobs.delete(manifest.key)) removed++;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return removed;
  }

  /** The blobs the records of a live thread's generation name. */
  async function namedBlobs(thread: string, live: LiveThread): Promise<Set<string>> {
    const records = generation(thread, live.generation);
    const named = new Set<string>();
    let after: string | undefined;
    do {
      const page = await records.list({ prefix: '', limit: PAGE, after });
      for (const head of page.heads.filter(isLive)) {
        if (head.key.startsWith('c/')) {
          const channels = channelsOf(
            parseCheckpointKey(head.key).checkpointNs,
            decodeCheckpoint(records, head),
          );
          for (const value of (await valuesOf(thread).load(records.keys.namespace, channels)).values())
            if ('blob' in value) named.add(value.blob);
        } else {
          const task = decodeRecord(
            taskWritesRecordSchema,
            { value: head.value, etag: '' },
            records.keys.head(head.key),
          );
          for (const write of task.writes) if ('blob' in write.value) named.add(write.value.blob);
        }
      }
      after = page.cursor;
    } while (after !== undefined);
    return named;
  }

  /** Whether any of the thread's blobs is old enough to be collected, without reading its records. */
  async function hasOldBlobs(thread: string, horizon: number): Promise<boolean> {
    const prefix = blobPrefix(thread);
    let cursor: string | undefined;
    do {
      const page = await blobs.list(prefix, { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      if (page.items.some((manifest) => Date.parse(manifest.created_at) <= horizon)) return true;
      cursor = page.cursor;
    } while (cursor !== undefined);
    return false;
  }

  return async function sweep() {
    const horizon = now().getTime() - graceMs;
    let expired = 0;
    let removedBlobs = 0;
    let after: string | undefined;
    do {
      const page = await threads.heads.list({ prefix: '', limit: PAGE, after });
      for (const head of page.heads) {
        const live = threads.live(head);
        if (live === undefined) {
          if (await collection.expireNow(head.key, head)) expired++;
        } else if (await hasOldBlobs(head.key, horizon)) {
          removedBlobs += await removeBlobsExcept(head.key, await namedBlobs(head.key, live), horizon);
        }
      }
      after = page.cursor;
    } while (after !== undefined);
    const ended = await collectEnded(horizon);
    return { expired, generations: ended.generations, blobs: removedBlobs + ended.blobs };
  };
}
