import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KvOperation, KvStore } from '../../ports/kv-store.ts';
import { transactionBatches } from '../engine/transaction-batches.ts';
import type { LargeObjectStore } from '../../storage/large-object-store.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
import { engineRuntimeOf } from '../engine/engine-runtime.ts';
import { isLive } from '../engine/head-record.ts';
import { createVersionedRecords, type VersionedRecords } from '../engine/versioned-records.ts';
import { AppError } from '../errors.ts';
import type { Json } from '../json.ts';
import { RETRY, retryOnConflict } from '../state/cas-retry.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { channelValues, type ChannelValues } from './channel-values.ts';
import { threadGone } from './checkpoint-errors.ts';
import { agentUsage } from '../state/agent-usage.ts';
import { quotaExceeded } from '../state/persistent-errors.ts';
import {
  blobKey,
  blobPrefix,
  checkpointKey,
  deadGenerationsNamespace,
  checkpointPrefix,
  generationNamespace,
  parseCheckpointKey,
  threadOrderKey,
  writesKey,
} from './checkpoint-keys.ts';
import { assembleTuples, decodeCheckpoint } from './checkpoint-reads.ts';
import {
  taskWritesRecordSchema,
  threadOrderRecordSchema,
  type CheckpointRecord,
  type TaskWritesRecord,
} from './checkpoint-records.ts';
import type {
  CheckpointPage,
  CheckpointTuple,
  PutCheckpointInput,
  PutWritesInput,
  ThreadInfo,
  ThreadPage,
} from './checkpoint-schemas.ts';
import { checkpointAgents } from './checkpoint-agents.ts';
import { threadCollection } from './thread-collection.ts';
import { threadSweep, type SweepResult } from './thread-sweep.ts';
import { createKeyIndex } from '../state/key-index.ts';
import {
  asJson,
  threadHeads,
  threadRecordAfterWrite,
  type LiveThread,
  type ThreadHeads,
} from './thread-heads.ts';

export interface CheckpointsOptions {
  readonly tenant: string;
  readonly agent: string;
  /** Where values too large for a record are uploaded. */
  readonly blobs: LargeObjectStore;
  /** Seconds a thread lives after its last write unless a put says otherwise; 0 for ever. @default 0 */
  readonly defaultTtlSeconds?: number;
  /** Checkpoints kept per thread and checkpoint namespace, newest first; 0 keeps all. @default 0 */
  readonly retention?: number;
  /**
   * Bytes of the agent's state its checkpoints count toward, with its persistent state
   * (`agent-usage.ts`): the persistent quota. Offloaded values are not counted. @default 100 MiB
   */
  readonly quotaBytes?: number;
  /**
   * How long after a thread's life ended, or a value was uploaded, the sweep leaves it
   * alone, for writers still busy with it. @default 10 minutes
   */
  readonly sweepGraceMs?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly runtime?: EngineRuntime;
}

/**
 * One agent's LangGraph checkpoints: threads of checkpoints ordered by id within a
 * checkpoint namespace, with pending writes per (checkpoint, task, index). A policy
 * over the versioned-record engine (README, "Checkpoints"):
 * - a thread's head (engine record, key = thread id) is the commit point of every put
 *   and of `deleteThread`; its `since` is the thread's generation, and every record of
 *   one life of the thread is in that generation's engine namespace;
 * - a put writes the values of the channels it changed (plain records, one per channel
 *   and version), the checkpoint's record, then moves the thread head with a CAS; a
 *   delete turns the head into a tombstone, so a late put or putWrites that continues
 *   the deleted thread is refused, and one that raced the delete wrote into a
 *   generation nobody reads; the collector removes that generation after the answer.
 */
export interface Checkpoints {
  put(
    thread: string,
    input: PutCheckpointInput,
  ): Promise<{ thread_id: string; checkpoint_ns: string; checkpoint_id: string }>;
  putWrites(thread: string, input: PutWritesInput): Promise<{ stored: number }>;
  /** The checkpoint `checkpointId`, or the namespace's latest; `undefined` if there is none. */
  get(
    thread: string,
    query: { checkpointNs: string; checkpointId?: string; refreshTtl?: boolean },
  ): Promise<CheckpointTuple | undefined>;
  /** Checkpoints newest first, filtered, one page at a time. */
  list(
    thread: string,
    query: {
      checkpointNs?: string;
      before?: string;
      filter?: Record<string, Json>;
      limit: number;
      cursor?: string;
    },
  ): Promise<CheckpointPage>;
  deleteThread(thread: string): Promise<{ deleted: boolean }>;
  /** The agent's live threads, newest first. */
  listThreads(page: { limit: number; cursor?: string }): Promise<ThreadPage>;
  /** Copies every checkpoint and pending write of `source` to the new thread `target`. */
  copyThread(source: string, target: string): Promise<{ thread_id: string; checkpoints: number }>;
  /** Stores the bytes of a value too large for a record, for a put or putWrites to name. */
  uploadBlob(
    thread: string,
    blob: string,
    source: AsyncIterable<Uint8Array>,
  ): Promise<{ blob: string; size_bytes: number }>;
  /** The bytes of an uploaded value. */
  readBlob(thread: string, blob: string): AsyncIterable<Uint8Array>;
  /**
   * Deletes the agent's expired threads, collects ended lives again once their grace
   * passed, and deletes uploaded values that no record names (`thread-sweep.ts`).
   */
  sweep(): Promise<SweepResult>;
  /** Waits for the background work started so far (collection, retention). */
  settle(): Promise<void>;
}

export function createCheckpoints(kv: KvStore, options: CheckpointsOptions): Checkpoints {
  const {
    tenant,
    agent,
    blobs,
    defaultTtlSeconds = 0,
    retention = 0,
    quotaBytes = 100 * 1024 * 1024,
    now = () => new Date(),
    sweepGraceMs = 10 * 60 * 1000,
  } = options;
  const runtime = options.runtime ?? engineRuntimeOf(kv);
  const threads: ThreadHeads = threadHeads(kv, { tenant, agent, now, runtime });

  function generation(thread: string, number: number): VersionedRecords {
    return createVersionedRecords(kv, {
      namespace: generationNamespace(tenant, agent, thread, number),
      retention: 1,
      quotaBytes,
      exceeded: quotaExceeded,
      usage: agentUsage(kv, tenant, agent),
      now,
      runtime,
    });
  }
  const valuesOf = (thread: string): ChannelValues => channelValues(kv, blobs, { tenant, agent, thread });
  const dead = createKeyIndex(kv, { namespace: deadGenerationsNamespace(tenant, agent) });
  const collection = threadCollection({ threads, generation, valuesOf, retention, runtime, dead, now });
  const agents = checkpointAgents(kv, runtime);
  const sweep = threadSweep({
    threads,
    collection,
    dead,
    generation,
    valuesOf,
    blobs,
    blobPrefix: (thread) => blobPrefix(tenant, agent, thread),
    now,
    graceMs: sweepGraceMs,
  });

  /**
   * What a writer of `key` in `thread`'s current generation reads, in one request: the
   * thread head, and the key's head in the generation this worker last saw the thread
   * in (the first, if none), which the caller checks against the thread head. When the
   * generation is known, the key goes into its index side by side (`VersionedRecords.index`).
   */
  async function readForWrite(thread: string, key: string, alongside: Promise<unknown> | undefined) {
    const known = threads.lastGeneration(thread);
    const number = known ?? 1;
    const threadKeys = threads.heads.readKeys(thread, 'write');
    const record = await readRecord(thread, number, key, {
      threadKeys,
      alongside,
      index: known !== undefined,
    });
    const threadPrefetched = { keys: threadKeys, entries: record.prefetched.entries };
    const head = (await threads.heads.read(thread, threadPrefetched))?.head;
    return { record, number, head, live: threads.live(head), threadPrefetched };
  }

  /** Reads the head of `key` in generation `number` (with `also.threadKeys`), indexing it if asked. */
  async function readRecord(
    thread: string,
    number: number,
    key: string,
    also: { threadKeys: string[]; alongside: Promise<unknown> | undefined; index: boolean } | undefined,
  ) {
    const records = generation(thread, number);
    const recordKeys = records.readKeys(key, 'write');
    const [entries, , indexed] = await Promise.all([
      kv.getBulk([...(also?.threadKeys ?? []), ...recordKeys]),
      also?.alongside,
      also === undefined || also.index ? records.index(key) : undefined,
    ]);
    return { records, prefetched: { keys: recordKeys, entries }, indexed };
  }

  /** The live thread, after handing an expired one to the collector. */
  async function liveThread(thread: string): Promise<LiveThread | undefined> {
    const head = await threads.read(thread);
    const live = threads.live(head);
    if (live === undefined && head !== undefined && isLive(head)) collection.expire(thread, head);
    return live;
  }

  return {
    async put(thread, input) {
      const checkpointId = input.checkpoint.id;
      const record: CheckpointRecord = {
        checkpoint: input.checkpoint as Record<string, Json>,
        metadata: input.metadata,
        ...(input.parent_checkpoint_id === undefined
          ? {}
          : { parent_checkpoint_id: input.parent_checkpoint_id }),
      };
      const key = checkpointKey(input.checkpoint_ns, checkpointId);
      let uploaded: Promise<unknown> | undefined = Promise.all([
        valuesOf(thread).assertUploaded(input.new_channel_values.map(({ value }) => value)),
        agents.register(tenant, agent),
      ]);
      return retryOnConflict(`put of a checkpoint of thread ${thread}`, async () => {
        const read = await readForWrite(thread, key, uploaded);
        uploaded = undefined;
        const { head, live } = read;
        if (live === undefined && input.parent_checkpoint_id !== undefined) throw threadGone(thread, 'put');
        const number = live?.generation ?? (head?.version ?? 0) + 1;
        const { records, prefetched, indexed } =
          number === read.number ? read.record : await readRecord(thread, number, key, undefined);
        const at = now();
        const latest = live?.record.latest[input.checkpoint_ns];
        const previous = live?.record ?? { latest: {}, order_key: threadOrderKey(at.toISOString(), thread) };
        const next = threadRecordAfterWrite(
          {
            ...previous,
            latest: {
              ...previous.latest,
              [input.checkpoint_ns]: latest !== undefined && latest > checkpointId ? latest : checkpointId,
            },
          },
          at,
          input.ttl_seconds ?? live?.record.ttl_seconds ?? defaultTtlSeconds,
        );
        const [checkpointPlan, threadPlan] = await Promise.all([
          records.plan(key, record as unknown as Json, { prefetched, indexed }),
          threads.heads.plan(thread, asJson(next), {
            prefetched: read.threadPrefetched,
            expectedVersion: live?.head.version ?? 0,
          }),
          live === undefined ? threads.order.write(next.order_key, { thread_id: thread }) : undefined,
        ]);
        if (!('operations' in threadPlan)) {
          if (live === undefined && head !== undefined && isLive(head)) collection.expire(thread, head);
          return RETRY;
        }
        if (!('operations' in checkpointPlan)) return RETRY;
        const saves = valuesOf(thread).saves(
          records.keys.namespace,
          input.new_channel_values.map(({ channel, version, value }) => ({
            checkpointNs: input.checkpoint_ns,
            channel,
            version,
            value,
          })),
        );
        // The thread head's CAS is the commit point: the channel values and the
        // checkpoint's record only have to be there when it commits, so one request
        // carries them all, unless they are too large for one.
        const commit = [...checkpointPlan.operations, ...threadPlan.operations];
        const batches = [...transactionBatches([...saves, ...commit])];
        if (batches.length > 1) for (const batch of transactionBatches(saves)) await kv.transact(batch);
        await kv.transact(batches.length > 1 ? commit : (batches[0] as KvOperation[]));
        checkpointPlan.afterCommit();
        threadPlan.afterCommit();
        threads.remember(thread, number);
        collection.afterPut(thread, number, input.checkpoint_ns);
        return { thread_id: thread, checkpoint_ns: input.checkpoint_ns, checkpoint_id: checkpointId };
      });
    },

    async putWrites(thread, input) {
      const key = writesKey(input.checkpoint_ns, input.checkpoint_id, input.task_id);
      return retryOnConflict(`putWrites of thread ${thread}`, async () => {
        const read = await readForWrite(thread, key, undefined);
        const { head, live } = read;
        if (live === undefined) {
          if (head !== undefined && isLive(head)) collection.expire(thread, head);
          throw threadGone(thread, 'putWrites');
        }
        const { records, prefetched, indexed } =
          live.generation === read.number
            ? read.record
            : await readRecord(thread, live.generation, key, undefined);
        threads.remember(thread, live.generation);
        const current = await records.read(key, prefetched);
        const existing: TaskWritesRecord | undefined =
          current === undefined || !isLive(current.head)
            ? undefined
            : decodeRecord(
                taskWritesRecordSchema,
                { value: current.head.value, etag: '' },
                records.keys.head(key),
              );
        // A write at a regular index is kept as first stored (a retried task writes the
        // same); special writes (negative indexes: errors, interrupts) are replaced.
        const byIndex = new Map((existing?.writes ?? []).map((write) => [write.idx, write]));
        for (const write of input.writes)
          if (write.idx < 0 || !byIndex.has(write.idx)) byIndex.set(write.idx, write);
        const merged: TaskWritesRecord = {
          task_id: input.task_id,
          task_path: input.task_path,
          writes: [...byIndex.values()],
        };
        const plan = await records.plan(key, merged, {
          prefetched,
          indexed,
          expectedVersion: current !== undefined && isLive(current.head) ? current.head.version : 0,
        });
        if (!('operations' in plan)) return RETRY;
        await kv.transact(plan.operations);
        plan.afterCommit();
        return { stored: input.writes.length };
      });
    },

    async get(thread, { checkpointNs, checkpointId, refreshTtl = false }) {
      const live = await liveThread(thread);
      if (live === undefined) return undefined;
      const id = checkpointId ?? live.record.latest[checkpointNs];
      if (id === undefined) return undefined;
      const records = generation(thread, live.generation);
      const entry = await records.read(checkpointKey(checkpointNs, id));
      if (entry === undefined || !isLive(entry.head)) return undefined;
      const [tuple] = await assembleTuples(records, valuesOf(thread), thread, [entry.head]);
      if (refreshTtl && live.record.ttl_seconds !== undefined) {
        const next = threadRecordAfterWrite(live.record, now(), live.record.ttl_seconds);
        // A writer that moved the head on refreshed the TTL itself.
        await threads.heads.write(thread, asJson(next), { expectedVersion: live.head.version });
      }
      return tuple;
    },

    async list(thread, { checkpointNs, before, filter, limit, cursor }) {
      const live = await liveThread(thread);
      if (live === undefined) return { checkpoints: [] };
      const records = generation(thread, live.generation);
      const prefix = checkpointNs === undefined ? 'c/' : checkpointPrefix(checkpointNs);
      let after =
        cursor ??
        (before !== undefined && checkpointNs !== undefined
          ? checkpointKey(checkpointNs, before)
          : undefined);
      const matching = [];
      for (;;) {
        const page = await records.list({
          prefix,
          limit: limit - matching.length,
          ...(after === undefined ? {} : { after }),
        });
        const kept = page.heads.filter((head) => {
          const record = decodeCheckpoint(records, head);
          if (before !== undefined && parseCheckpointKey(head.key).checkpointId >= before) return false;
          return (
            filter === undefined ||
            Object.entries(filter).every(([name, value]) => isDeepStrictEqual(record.metadata[name], value))
          );
        });
        matching.push(...kept);
        if (page.cursor === undefined)
          return { checkpoints: await assembleTuples(records, valuesOf(thread), thread, matching) };
        after = page.cursor;
        if (matching.length === limit)
          return {
            checkpoints: await assembleTuples(records, valuesOf(thread), thread, matching),
            cursor: after,
          };
      }
    },

    deleteThread(thread) {
      return retryOnConflict(`delete of thread ${thread}`, async () => {
        const head = await threads.read(thread);
        if (head === undefined || !isLive(head)) return { deleted: false };
        await collection.ending(thread, head);
        const outcome = await threads.heads.remove(thread, { expectedVersion: head.version });
        if (!outcome.removed) return RETRY;
        collection.collect(thread, outcome.previous);
        return { deleted: threads.live(outcome.previous) !== undefined };
      });
    },

    async listThreads({ limit, cursor }) {
      const page = await threads.order.list({
        prefix: '',
        limit,
        ...(cursor === undefined ? {} : { after: cursor }),
      });
      const found = await Promise.all(
        page.heads.map(async (entry) => {
          const { thread_id } = decodeRecord(
            threadOrderRecordSchema,
            { value: entry.value, etag: '' },
            threads.order.keys.head(entry.key),
          );
          const head = await threads.read(thread_id);
          const live = threads.live(head);
          if (live === undefined || live.record.order_key !== entry.key) {
            collection.dropOrderEntry(entry.key, head);
            return undefined;
          }
          const info: ThreadInfo = {
            thread_id,
            created_at: live.head.created_at,
            updated_at: live.head.updated_at,
            ...(live.record.expires_at === undefined ? {} : { expires_at: live.record.expires_at }),
          };
          return info;
        }),
      );
      const list = found.filter((info) => info !== undefined);
      return { threads: list, ...(page.cursor === undefined ? {} : { cursor: page.cursor }) };
    },

    async copyThread(source, target) {
      if (threads.live(await threads.read(target)) !== undefined)
        throw new AppError(
          'IdConflict',
          `thread ${JSON.stringify(target.slice(0, 80))} exists: copy to a new thread id`,
        );
      const tuples: CheckpointTuple[] = [];
      let cursor: string | undefined;
      do {
        const page = await this.list(source, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
        tuples.push(...page.checkpoints);
        cursor = page.cursor;
      } while (cursor !== undefined);
      if (tuples.length === 0)
        throw new AppError('KeyNotFound', `thread ${JSON.stringify(source.slice(0, 80))} has no checkpoints`);
      // Oldest first, so that the target's latest checkpoint per namespace is the source's.
      for (const tuple of tuples.reverse()) {
        const channels = tuple.checkpoint['channel_versions'] as Record<string, string | number>;
        const copied = await Promise.all(
          Object.entries(tuple.channel_values).map(async ([channel, value]) => ({
            channel,
            version: channels[channel] ?? '',
            value: await copyValue(source, target, value),
          })),
        );
        await this.put(target, {
          checkpoint_ns: tuple.config.checkpoint_ns,
          checkpoint: tuple.checkpoint as PutCheckpointInput['checkpoint'],
          metadata: tuple.metadata,
          new_channel_values: copied,
          ...(tuple.parent_checkpoint_id === undefined
            ? {}
            : { parent_checkpoint_id: tuple.parent_checkpoint_id }),
        });
        const byTask = Map.groupBy(tuple.pending_writes, (write) => write.task_id);
        for (const [taskId, writes] of byTask)
          await this.putWrites(target, {
            checkpoint_ns: tuple.config.checkpoint_ns,
            checkpoint_id: tuple.config.checkpoint_id,
            task_id: taskId,
            task_path: writes[0]?.task_path ?? '',
            writes: await Promise.all(
              writes.map(async ({ idx, channel, value }) => ({
                idx,
                channel,
                value: await copyValue(source, target, value),
              })),
            ),
          });
      }
      return { thread_id: target, checkpoints: tuples.length };
    },

    async uploadBlob(thread, blob, source) {
      const manifest = await blobs.write(blobKey(tenant, agent, thread, blob), source);
      return { blob, size_bytes: manifest.size };
    },

    readBlob: (thread, blob) => blobs.read(blobKey(tenant, agent, thread, blob)),

    sweep,

    settle: () => runtime.background.settle(),
  };

  async function copyValue(source: string, target: string, value: CheckpointTuple['channel_values'][string]) {
    if (!('blob' in value)) return value;
    const blob = randomUUID();
    await blobs.write(
      blobKey(tenant, agent, target, blob),
      blobs.read(blobKey(tenant, agent, source, value.blob)),
    );
    return { ...value, blob };
  }
}
