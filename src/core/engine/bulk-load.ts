import { isDeepStrictEqual } from 'node:util';
import { AppError } from '../errors.ts';
import { jsonByteLength, type Json } from '../json.ts';
import type { KvOperation, KvStore } from '../../ports/kv-store.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import type { KeyIndex } from '../state/key-index.ts';
import { assertRecordFits } from '../state/record-size.ts';
import type { EngineKeys } from './engine-keys.ts';
import { isLive, MAX_VERSION, type Head, type HistoryRecord, type UsageIntent } from './head-record.ts';
import type { HeadEntry } from './versioned-records.ts';
import { transactionBatches } from './transaction-batches.ts';

/** One key to load: its current value and, oldest first, the versions before it. */
export interface BulkItem {
  readonly key: string;
  readonly value: Json;
  readonly meta?: Record<string, Json>;
  /** The version the value had where it came from; kept if `preserveVersions` allows. */
  readonly version?: number;
  readonly created_at?: string;
  readonly updated_at?: string;
  /** Earlier versions, oldest first; only the newest `retention - 1` are kept. */
  readonly history?: readonly Omit<HistoryRecord, 'version'>[];
}

export interface BulkLoadResult {
  /** Keys written. */
  readonly keys: number;
  /** Keys whose versions were renumbered to continue after the versions they had here. */
  readonly renumbered: number;
}

export interface BulkLoaderOptions {
  readonly keys: EngineKeys;
  readonly index: KeyIndex;
  readonly retention: number;
  readonly ttl: { ttlSeconds?: number };
  readonly now: () => Date;
  readonly readHeads: (keys: readonly string[]) => Promise<Map<string, HeadEntry>>;
  readonly intentFor: (delta: number) => { pending?: UsageIntent };
  readonly afterCommit: (key: string, replaced: Head | undefined, head: Head) => void;
}

export interface BulkLoader {
  load(items: readonly BulkItem[], preserveVersions: boolean): Promise<BulkLoadResult>;
}

// Keys per round: one bulk read of their heads, their index leaves, then their records
// in as few transactions as the request limit allows.
const KEYS_PER_ROUND = 100;

/**
 * The engine's bulk-load path, for restores and imports: many keys per store call, the
 * same commit protocol as a write (history before head, the head's CAS the commit point,
 * index entries before heads), versions preserved where they are above what the key had
 * here and renumbered above it otherwise, so versions never go backwards and a writer
 * holding an old `expected_version` cannot overwrite a loaded key by accident.
 */
export function bulkLoader(kv: KvStore, options: BulkLoaderOptions): BulkLoader {
  const { keys, index, retention, ttl, now, readHeads, intentFor, afterCommit } = options;

  /** The records of one item over what the key has now, or `undefined` if already loaded. */
  function plan(item: BulkItem, current: HeadEntry | undefined, preserveVersions: boolean) {
    const history = item.history ?? [];
    const kept = retention > 1 ? history.slice(Math.max(0, history.length - (retention - 1))) : [];
    const base = current?.head.version ?? 0;
    const wanted = item.version ?? kept.length + 1;
    const first = preserveVersions && wanted - kept.length > base ? wanted - kept.length : base + 1;
    const version = first + kept.length;
    if (version > MAX_VERSION)
      throw new AppError('InvalidInput', `version ${version} of ${item.key} is too large`);
    const live = current !== undefined && isLive(current.head) ? current.head : undefined;
    const at = now().toISOString();
    const size = jsonByteLength(item.value);
    const head: Head = {
      key: item.key,
      value: item.value,
      version,
      since: first,
      pruned_below: first,
      created_at: item.created_at ?? at,
      updated_at: item.updated_at ?? at,
      size_bytes: size,
      ...intentFor(size - (live?.size_bytes ?? 0)),
      ...(item.meta === undefined ? {} : { meta: item.meta }),
    };
    assertRecordFits(kv, head, size);
    const records: KvOperation[] = kept.map((record, position) => ({
      op: 'save',
      key: keys.history(item.key, first + position),
      value: { ...record, version: first + position },
      options: ttl,
    }));
    const commit: KvOperation = {
      op: 'save',
      key: keys.head(item.key),
      value: head,
      options: { ...(current === undefined ? { ifAbsent: true } : { etag: current.etag }), ...ttl },
    };
    return { head, records, commit, renumbered: first !== wanted - kept.length, replaced: current?.head };
  }

  async function loadRound(items: readonly BulkItem[], preserveVersions: boolean): Promise<BulkLoadResult> {
    let left = items;
    let renumbered = 0;
    await retryOnConflict(`bulk load into ${keys.namespace}`, async () => {
      const current = await readHeads(left.map((item) => item.key));
      // A retry after a partly applied transaction (Redis) finds some heads loaded.
      left = left.filter((item) => !isLoaded(item, current.get(item.key)?.head));
      const plans = left.map((item) => plan(item, current.get(item.key), preserveVersions));
      await index.addMany(
        left
          .filter((item) => {
            const head = current.get(item.key)?.head;
            return head === undefined || head.unindexed === true;
          })
          .map((item) => item.key),
      );
      // Every key's history goes before any head, and heads last: a head never names a
      // version whose record is not written.
      for (const batch of transactionBatches(plans.flatMap((p) => p.records))) await kv.transact(batch);
      for (const batch of transactionBatches(plans.map((p) => p.commit))) await kv.transact(batch);
      for (const p of plans) {
        afterCommit(p.head.key, p.replaced, p.head);
        if (p.renumbered) renumbered++;
      }
      left = [];
    });
    return { keys: items.length, renumbered };
  }

  return {
    async load(items, preserveVersions) {
      const seen = new Set<string>();
      for (const item of items) {
        if (seen.has(item.key))
          throw new AppError('InvalidInput', `key ${JSON.stringify(item.key)} is loaded twice`);
        seen.add(item.key);
      }
      let total = 0;
      let renumbered = 0;
      for (let start = 0; start < items.length; start += KEYS_PER_ROUND) {
        const result = await loadRound(items.slice(start, start + KEYS_PER_ROUND), preserveVersions);
        total += result.keys;
        renumbered += result.renumbered;
      }
      return { keys: total, renumbered };
    },
  };
}

function isLoaded(item: BulkItem, head: Head | undefined): boolean {
  return (
    head !== undefined &&
    isLive(head) &&
    isDeepStrictEqual(head.value, item.value) &&
    (item.updated_at === undefined || head.updated_at === item.updated_at) &&
    isDeepStrictEqual(head.meta, item.meta)
  );
}
