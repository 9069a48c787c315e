import type { KvStore } from '../../ports/kv-store.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
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
}

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
