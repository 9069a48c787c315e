import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf, type EngineRuntime } from '../engine/engine-runtime.ts';
import { isLive, type Head } from '../engine/head-record.ts';
import { createVersionedRecords, type VersionedRecords } from '../engine/versioned-records.ts';
import { AppError } from '../errors.ts';
import type { Json } from '../json.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { threadOrderNamespace, threadsNamespace } from './checkpoint-keys.ts';
import { threadRecordSchema, type ThreadRecord } from './checkpoint-records.ts';

/** A live thread as its head says: its record, and the generation its records are in. */
export interface LiveThread {
  readonly head: Head;
  readonly record: ThreadRecord;
  /** The `since` of the head: a new life after a delete gets a new one. */
  readonly generation: number;
}

/** The engine namespaces of an agent's thread heads and of their order. */
export interface ThreadHeads {
  readonly heads: VersionedRecords;
  readonly order: VersionedRecords;
  /** The head of `thread`, live or not, or `undefined`. One store call. */
  read(thread: string): Promise<Head | undefined>;
  /** The live thread of `head`: `undefined` for a tombstone or an expired thread. */
  live(head: Head | undefined): LiveThread | undefined;
  /**
   * The generation this worker last saw `thread` in, if it remembers: a writer reads the
   * records it will write there in the same request as the thread head, and checks.
   */
  lastGeneration(thread: string): number | undefined;
  remember(thread: string, generation: number): void;
}

// Threads whose generation a worker remembers per agent; a forgotten one costs a read.
const GENERATIONS_KEPT = 10_000;

export function threadHeads(
  kv: KvStore,
  options: { tenant: string; agent: string; now: () => Date; runtime?: EngineRuntime },
): ThreadHeads {
  const { tenant, agent, now, runtime } = options;
  // Thread heads and order entries are small and bounded by the thread count; the
  // checkpoint quota applies to each thread's records.
  const common = {
    retention: 1,
    quotaBytes: Number.MAX_SAFE_INTEGER,
    exceeded: () => new AppError('Internal', 'thread heads have no quota'),
    now,
    ...(runtime === undefined ? {} : { runtime }),
  };
  const heads = createVersionedRecords(kv, { ...common, namespace: threadsNamespace(tenant, agent) });
  const generations = (runtime ?? engineRuntimeOf(kv)).singleton(
    'thread-generations',
    threadsNamespace(tenant, agent),
    () => new Map<string, number>(),
  );
  const order = createVersionedRecords(kv, { ...common, namespace: threadOrderNamespace(tenant, agent) });
  return {
    heads,
    order,
    async read(thread) {
      return (await heads.read(thread))?.head;
    },
    live(head) {
      if (head === undefined || !isLive(head)) return undefined;
      const record = decodeRecord(
        threadRecordSchema,
        { value: head.value, etag: '' },
        heads.keys.head(head.key),
      );
      if (record.expires_at !== undefined && Date.parse(record.expires_at) <= now().getTime())
        return undefined;
      return { head, record, generation: head.since };
    },
    lastGeneration: (thread) => generations.get(thread),
    remember(thread, generation) {
      generations.delete(thread);
      generations.set(thread, generation);
      if (generations.size > GENERATIONS_KEPT) generations.delete(generations.keys().next().value as string);
    },
  };
}

/** The record of a thread after a write at `at` with `ttlSeconds` (0: none). */
export function threadRecordAfterWrite(previous: ThreadRecord, at: Date, ttlSeconds: number): ThreadRecord {
  const rest: ThreadRecord = { latest: previous.latest, order_key: previous.order_key };
  if (ttlSeconds === 0) return rest;
  return {
    ...rest,
    ttl_seconds: ttlSeconds,
    expires_at: new Date(at.getTime() + ttlSeconds * 1000).toISOString(),
  };
}

export function asJson(record: ThreadRecord): Json {
  return record as unknown as Json;
}
