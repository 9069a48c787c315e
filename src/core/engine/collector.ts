import type { KvOperation, KvStore } from '../../ports/kv-store.ts';
import { isAppError } from '../errors.ts';
import type { KeyIndex } from '../state/key-index.ts';
import { decodeRecord } from '../state/stored-record.ts';
import type { EngineKeys } from './engine-keys.ts';
import type { EngineRuntime } from './engine-runtime.ts';
import { headSchema, type Head, type UsageIntent } from './head-record.ts';

// History deletes go to the store in transactions of this many; they are unconditional
// and idempotent, so a store whose transactions are not atomic (Redis) serves as well.
const DELETES_PER_TRANSACTION = 100;

/**
 * Removes from a namespace what no answer needs any more: the history and index entry
 * of deleted keys, and index entries of keys whose creator never committed. Runs after
 * the answers that leave such things (a delete) and when a listing meets them.
 *
 * The protocol that keeps a live key from being unlisted: a creator adds its key to
 * the index (rewriting the leaf) after reading the head and before committing on it.
 * The collector reads the leaf, then fences each head with a CAS of its own (a tombstone
 * marked `unindexed`, or one written where no head exists), then removes the fenced keys
 * by a CAS on the leaf it read. A creator that read the head before the fence fails its
 * commit and starts over, adding its key again; one that read it after rewrote the leaf,
 * so the collector's CAS fails and removes nothing.
 */
export interface Collector {
  /** Queues keys to look at after the answer. */
  enqueue(keys: readonly string[]): void;
}

export interface CollectorOptions {
  readonly keys: EngineKeys;
  readonly index: KeyIndex;
  /** History records kept below a tombstone's version that may still exist. */
  readonly retention: number;
  /** Applies a tombstone's usage intent before the tombstone leaves the index (`UsageShards.apply`). */
  readonly applyUsage: (key: string, intent: UsageIntent) => Promise<void>;
}

export function collector(kv: KvStore, runtime: EngineRuntime, options: CollectorOptions): Collector {
  return runtime.singleton('collector', options.keys.namespace, () => createCollector(kv, runtime, options));
}

function createCollector(kv: KvStore, runtime: EngineRuntime, options: CollectorOptions): Collector {
  const { keys, index, retention, applyUsage } = options;
  let queued = new Set<string>();
  let running = false;

  async function readHeads(userKeys: readonly string[]) {
    const entries = await kv.getBulk(userKeys.map((key) => keys.head(key)));
    return new Map(
      userKeys.map((key) => {
        const entry = entries.get(keys.head(key));
        const head = entry === undefined ? undefined : decodeRecord(headSchema, entry, keys.head(key));
        return [key, entry === undefined || head === undefined ? undefined : { head, etag: entry.etag }];
      }),
    );
  }

  /** Fences the heads of those of `candidates` that are not live; answers the fenced ones. */
  async function fence(candidates: string[]): Promise<string[]> {
    const heads = await readHeads(candidates);
    const history: KvOperation[] = [];
    const fences: { key: string; operation: KvOperation }[] = [];
    // Fences are never shown, so they carry the wall clock rather than the records' clock.
    const at = new Date().toISOString();
    for (const key of candidates) {
      const current = heads.get(key);
      // A live head stays; so does a tombstone whose changes still have work to run (its
      // runner hands it back here once they ran), so that a sweep still finds it listed.
      if (current !== undefined && (current.head.deleted !== true || current.head.follow_ups !== undefined))
        continue;
      const tombstone: Head =
        current === undefined
          ? {
              key,
              value: null,
              version: 0,
              since: 0,
              pruned_below: 0,
              created_at: at,
              updated_at: at,
              size_bytes: 0,
              deleted: true,
              unindexed: true,
            }
          : { ...current.head, pruned_below: current.head.version, unindexed: true };
      if (current !== undefined) {
        // A recount no longer sees the tombstone once it is unindexed, so it would take
        // its intent for applied: apply it first, so that a later writer's carry-over is a no-op.
        if (current.head.pending !== undefined) await applyUsage(key, current.head.pending);
        const from = Math.max(current.head.pruned_below, current.head.version - 2 * retention);
        for (let version = from; version < current.head.version; version++)
          history.push({ op: 'delete', key: keys.history(key, version) });
      }
      fences.push({
        key,
        operation: {
          op: 'save',
          key: keys.head(key),
          value: tombstone,
          options: current === undefined ? { ifAbsent: true } : { etag: current.etag },
        },
      });
    }
    for (let start = 0; start < history.length; start += DELETES_PER_TRANSACTION)
      await kv.transact(history.slice(start, start + DELETES_PER_TRANSACTION));
    if (fences.length === 0) return [];
    try {
      await kv.transact(fences.map((fence) => fence.operation));
      return fences.map((fence) => fence.key);
    } catch (error) {
      if (!isAppError(error, 'VersionConflict')) throw error;
    }
    // Some head changed since it was read. Only a fence this call itself wrote after
    // reading the leaf counts, so each is tried again alone.
    const fenced: string[] = [];
    for (const { key, operation } of fences) {
      try {
        await kv.transact([operation]);
        fenced.push(key);
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
      }
    }
    return fenced;
  }

  async function run(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queued.size > 0) {
        let pending = [...queued].sort();
        queued = new Set();
        while (pending.length > 0) {
          const { rest } = await index.removeIf(pending, fence);
          pending = rest;
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    enqueue(userKeys) {
      if (userKeys.length === 0) return;
      for (const key of userKeys) queued.add(key);
      runtime.background.run(`collection in ${keys.namespace}`, run);
    },
  };
}
