import { z } from 'zod';
import { isAppError, type AppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import { decodeRecord } from '../state/stored-record.ts';
import type { EngineRuntime } from './engine-runtime.ts';
import type { Head, UsageIntent } from './head-record.ts';

/** Shards per namespace: writers of different keys rarely meet on one. */
export const USAGE_SHARDS = 16;

/** The store keys of a namespace's usage shards. */
export function usageShardKeys(namespace: string): string[] {
  return Array.from({ length: USAGE_SHARDS }, (_, n) => `${namespace}u/${n}`);
}
/**
 * How many applied intent ids a shard remembers, so that applying one twice is a no-op.
 * An intent is applied twice only when the next writer of its key carries it, which it
 * does within `CARRY_WINDOW_MS`: 128 ids per shard cover that window up to about a
 * thousand writes a second to one namespace. Beyond that a carried intent may count
 * twice; the counter then errs high (a refusal is checked against a recount first) until
 * the next recount. The ids are most of the bytes each application moves.
 */
const APPLIED_IDS_KEPT = 128;
// Shards written by earlier releases remembered 512.
const APPLIED_IDS_READ = 512;
/**
 * An intent older than this is settled: the aggregator no longer applies it, and a
 * recount takes the head's size as counted. Its worker applies it within milliseconds
 * of the commit unless it died, and then only a recount brings the counter back.
 */
export const INTENT_HORIZON_MS = 10 * 60 * 1000;
/**
 * The next writer of a key also applies the intent of the version it replaces if that
 * is younger than this: its own worker normally applies it within milliseconds, so a
 * younger one may still be in flight, or its worker may have died. An older one was
 * applied, or is left to the recount.
 */
export const CARRY_WINDOW_MS = 2000;
/**
 * How long intents wait to be applied after the first of them was queued, so that the
 * writes of that time share one read and one write of the shards: applied at once, each
 * write of a lone writer cost two more sidecar calls. Settling background work waits
 * for it, closing cuts it short; a crash within it leaves the intents on their heads,
 * for the key's next writer or a recount, as a crash before any application does.
 */
const FLUSH_AFTER_MS = 20;
/** How long a worker trusts the shards it read before it reads them again (in the background). */
const CACHE_MS = 1000;

export const usageShardSchema = z.object({
  bytes: z.int(),
  applied: z.array(z.string()).max(APPLIED_IDS_READ),
});
type Shard = z.infer<typeof usageShardSchema>;
const EMPTY: Shard = { bytes: 0, applied: [] };

export interface UsageShardsOptions {
  readonly namespace: string;
  readonly quotaBytes: number;
  readonly exceeded: (used: number, limit: number, requested: number) => AppError;
  /** Every head of the namespace, a page at a time: what a recount sums. */
  readonly scanHeads: () => AsyncIterable<Head[]>;
  readonly now: () => number;
}

/**
 * The quota usage of one namespace, in `USAGE_SHARDS` counters (`u/<n>`) instead of one
 * record that every write would have to CAS.
 *
 * A write commits its size change as an intent on its head (`pending`). After the
 * answer, the writer's worker applies the intents of many writes at once: one bulk read
 * of the shards they fall in and one CAS per shard, skipping intents a shard already
 * counted. The quota check before a commit reads no shard: it uses the sum this worker
 * read at most a second ago (refreshed in the background) plus the deltas it has not
 * applied yet. A refusal is always checked against an exact recount first.
 *
 * Exactness: the counter equals the sum of live sizes once every intent is applied. A
 * write that overwrites a head whose intent is still young re-queues that intent, so a
 * writer that died before applying is covered by the key's next writer; otherwise by a
 * recount, which runs before any refusal and once the namespace has been idle for a
 * while (`scheduleRecount`).
 */
export interface UsageShards {
  /** Store keys of the shards, for a caller that reads them with other records. */
  readonly shardKeys: readonly string[];
  /** Whether this worker holds no recent sum, so the next write should read the shards. */
  cold(): boolean;
  /** Takes shards a caller read with other records. */
  absorb(entries: ReadonlyMap<string, KvEntry>): void;
  /** Throws the quota error unless `delta` more bytes fit, checked exactly before refusing. */
  assertRoomFor(delta: number): Promise<void>;
  /** Queues committed intents for application after the answer. */
  enqueue(key: string, intents: readonly UsageIntent[]): void;
  /**
   * Applies a committed intent now (a shard skips one it counted). For a head about to
   * leave what a recount scans: a recount counts such an intent as applied.
   */
  apply(key: string, intent: UsageIntent): Promise<void>;
  /** The counter as stored now (one bulk read). */
  read(): Promise<number>;
  /** Applies what this worker has queued, joining a flush in flight. */
  flush(): Promise<void>;
  /**
   * Recounts every shard from the heads and stores what did not change meanwhile;
   * answers the sum of the live sizes, unapplied intents included.
   */
  recount(): Promise<number>;
}

export function usageShards(kv: KvStore, runtime: EngineRuntime, options: UsageShardsOptions): UsageShards {
  return runtime.singleton('usage', options.namespace, () => createUsageShards(kv, runtime, options));
}

function createUsageShards(kv: KvStore, runtime: EngineRuntime, options: UsageShardsOptions): UsageShards {
  const { namespace, quotaBytes, exceeded, now } = options;
  const shardKeys = usageShardKeys(namespace);
  let cached: { bytes: number; at: number } | undefined;
  let refreshing = false;
  let queued = new Map<number, Map<string, UsageIntent>>();
  let queuedDelta = 0;
  let flushing: Promise<void> | undefined;
  let flushDue = false;

  function decode(key: string, entry: KvEntry | undefined): Shard {
    return entry === undefined ? EMPTY : decodeRecord(usageShardSchema, entry, key);
  }

  function sumOf(entries: ReadonlyMap<string, KvEntry>): number {
    return shardKeys.reduce((sum, key) => sum + decode(key, entries.get(key)).bytes, 0);
  }

  async function read(): Promise<number> {
    const bytes = sumOf(await kv.getBulk(shardKeys));
    cached = { bytes, at: now() };
    return bytes;
  }

  function refreshInBackground(): void {
    if (refreshing) return;
    refreshing = true;
    runtime.background.run(`usage refresh of ${namespace}`, async () => {
      try {
        await read();
      } finally {
        refreshing = false;
      }
    });
  }

  /** Applies everything queued, joining the flush in flight if there is one. */
  function flush(): Promise<void> {
    flushing ??= applyQueued().finally(() => (flushing = undefined));
    return flushing;
  }

  async function applyQueued(): Promise<void> {
    while (queued.size > 0) {
      const batch = queued;
      queued = new Map();
      const delta = sumDeltas(batch);
      try {
        await applyBatch(batch);
      } finally {
        queuedDelta -= delta;
      }
    }
  }

  async function applyBatch(batch: Map<number, Map<string, UsageIntent>>): Promise<void> {
    const shards = [...batch.keys()];
    for (let attempt = 0; attempt < 50 && shards.length > 0; attempt++) {
      const keys = shards.map((n) => shardKeys[n] as string);
      const entries = await kv.getBulk(keys);
      const horizon = now() - INTENT_HORIZON_MS;
      const operations = [];
      let appliedDelta = 0;
      for (const n of shards) {
        const key = shardKeys[n] as string;
        const entry = entries.get(key);
        const shard = decode(key, entry);
        const applied = new Set(shard.applied);
        const fresh = [...(batch.get(n)?.values() ?? [])].filter(
          (intent) => !applied.has(intent.id) && intent.at >= horizon,
        );
        if (fresh.length === 0) continue;
        const delta = fresh.reduce((sum, intent) => sum + intent.delta, 0);
        appliedDelta += delta;
        const next: Shard = {
          bytes: shard.bytes + delta,
          applied: [...shard.applied, ...fresh.map((intent) => intent.id)].slice(-APPLIED_IDS_KEPT),
        };
        operations.push({
          op: 'save' as const,
          key,
          value: next,
          options: entry === undefined ? { ifAbsent: true as const } : { etag: entry.etag },
        });
      }
      if (operations.length === 0) return;
      try {
        // Redis may apply some of these and not others; what did apply is remembered in
        // the shard, so the next attempt skips it.
        await kv.transact(operations);
        // The sum moves by what was applied, which `queuedDelta` stops counting: the next
        // write needs no read of the shards for it.
        if (cached !== undefined) cached = { bytes: cached.bytes + appliedDelta, at: cached.at };
        return;
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
      }
    }
    // Left on the heads: the key's next writer or a recount counts them.
  }

  /** Queues intents for application after the answer; a shard skips those it counted. */
  function queue(key: string, intents: readonly UsageIntent[]): void {
    if (intents.length === 0) return;
    const n = shardOf(key);
    let shard = queued.get(n);
    if (shard === undefined) {
      shard = new Map();
      queued.set(n, shard);
    }
    for (const intent of intents) {
      if (shard.has(intent.id)) continue;
      shard.set(intent.id, intent);
      queuedDelta += intent.delta;
    }
    // Intents queued while a flush is waiting or in flight join its batch or the next.
    if (flushDue) return;
    flushDue = true;
    runtime.background.run(`usage of ${namespace}`, async () => {
      await runtime.background.pause(FLUSH_AFTER_MS);
      flushDue = false;
      await flush();
    });
  }

  async function recount(): Promise<number> {
    const entries = await kv.getBulk(shardKeys);
    const shards = shardKeys.map((key) => decode(key, entries.get(key)));
    const applied = shards.map((shard) => new Set(shard.applied));
    const sums = shards.map(() => 0);
    const horizon = now() - INTENT_HORIZON_MS;
    const unappliedIntents: { key: string; intent: UsageIntent }[] = [];
    for await (const heads of options.scanHeads()) {
      for (const head of heads) {
        const n = shardOf(head.key);
        const size = head.deleted === true ? 0 : head.size_bytes;
        const { pending } = head;
        // An intent not applied yet adds its delta when it is, so it is not counted now.
        const unapplied =
          pending !== undefined && pending.at >= horizon && !(applied[n] as Set<string>).has(pending.id);
        sums[n] = (sums[n] as number) + size - (unapplied ? pending.delta : 0);
        if (unapplied) unappliedIntents.push({ key: head.key, intent: pending });
      }
    }
    let total = 0;
    for (const [n, key] of shardKeys.entries()) {
      const entry = entries.get(key);
      const shard = shards[n] as Shard;
      const bytes = sums[n] as number;
      if (bytes === shard.bytes) {
        total += bytes;
        continue;
      }
      try {
        // Conditional on the shard read before the scan: had an intent been applied
        // since, the sum could count it twice, so that shard keeps its counter.
        await kv.transact([
          {
            op: 'save',
            key,
            value: { bytes, applied: shard.applied },
            options: entry === undefined ? { ifAbsent: true } : { etag: entry.etag },
          },
        ]);
        total += bytes;
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
        total += shard.bytes;
      }
    }
    cached = { bytes: total, at: now() };
    // Their writers may have died before applying them: apply them here, as the writer
    // would (a shard skips an intent it already counted, so applying twice is harmless).
    for (const { key, intent } of unappliedIntents) queue(key, [intent]);
    // What the heads hold: the counter, and what applying those will add to it.
    return unappliedIntents.reduce((sum, { intent }) => sum + intent.delta, total);
  }

  /** A recount some time after this worker's last write, so that usage converges. */
  function scheduleRecount(): void {
    runtime.background.later(`usage recount of ${namespace}`, RECOUNT_AFTER_IDLE_MS, async () => {
      await recount();
    });
  }

  return {
    shardKeys,
    cold: () => cached === undefined,
    absorb(entries) {
      cached = { bytes: sumOf(entries), at: now() };
    },

    async assertRoomFor(delta) {
      if (delta <= 0) return;
      if (cached === undefined) await read();
      else if (now() - cached.at > CACHE_MS) refreshInBackground();
      const counted = (cached?.bytes ?? 0) + queuedDelta;
      if (counted + delta <= quotaBytes) return;
      const exact = await recount();
      if (exact + delta <= quotaBytes) return;
      throw exceeded(exact, quotaBytes, delta);
    },

    enqueue(key, intents) {
      queue(key, intents);
      if (intents.length > 0) scheduleRecount();
    },

    apply: (key, intent) => applyBatch(new Map([[shardOf(key), new Map([[intent.id, intent]])]])),
    read,
    flush,
    recount,
  };
}

/** How long after this worker's last write to a namespace it recounts the namespace's usage. */
export const RECOUNT_AFTER_IDLE_MS = 30_000;

function sumDeltas(batch: Map<number, Map<string, UsageIntent>>): number {
  let sum = 0;
  for (const intents of batch.values()) for (const intent of intents.values()) sum += intent.delta;
  return sum;
}

/** The shard that counts `key`: FNV-1a of its UTF-16 code units, which is cheap and spreads well. */
export function shardOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % USAGE_SHARDS;
}
