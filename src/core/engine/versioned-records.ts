import { randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import { jsonByteLength, type Json } from '../json.ts';
import type { KvEntry, KvOperation, KvStore } from '../../ports/kv-store.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { assertRecordFits } from '../state/record-size.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { collector } from './collector.ts';
import { engineKeys, type EngineKeys } from './engine-keys.ts';
import { engineRuntimeOf, type EngineRuntime } from './engine-runtime.ts';
import {
  headSchema,
  historyRecordSchema,
  isLive,
  MAX_VERSION,
  type FollowUp,
  type Head,
  type HistoryRecord,
  type UsageIntent,
} from './head-record.ts';
import { followUpRunner, type FollowUpOptions } from './follow-ups.ts';
import { bulkLoader, type BulkItem, type BulkLoadResult } from './bulk-load.ts';
import { CARRY_WINDOW_MS, usageShards } from './usage-shards.ts';

/** Bytes of values a scan of heads aims to hold per bulk read, and its bounds in heads. */
const SCAN_BATCH_BYTES = 2 * 1024 * 1024;
const SCAN_BATCH_FIRST = 16;
const SCAN_BATCH_MIN = 4;
const SCAN_BATCH_MAX = 1000;
export interface VersionedRecordsOptions {
  /** The namespace's prefix in the store, ending in `/`. */
  readonly namespace: string;
  /** Versions kept per key, counting the current one; 1 keeps no history. */
  readonly retention: number;
  /** Bytes of live values' JSON the namespace may hold. */
  readonly quotaBytes: number;
  /** The error that refuses a write: `used` bytes stored, `requested` more would pass `limit`. */
  readonly exceeded: (used: number, limit: number, requested: number) => AppError;
  /**
   * The counter this namespace's sizes go to, when several namespaces share one quota
   * (an agent's persistent state and its checkpoints): the namespace whose `u/` shards
   * hold it, and a scan of every head of all those namespaces, which a recount sums.
   * Every namespace sharing it passes the same three, and the same `quotaBytes`.
   * @default this namespace's own shards and heads
   */
  readonly usage?: { readonly namespace: string; readonly scanHeads: () => AsyncIterable<Head[]> };
  /** Every record this writes expires this many seconds later (session state). */
  readonly ttlSeconds?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default the runtime shared by everything built over `kv` in this worker */
  readonly runtime?: EngineRuntime;
  /**
   * Work to run after every committed change, at least once, in version order per key,
   * also when the writer dies right after its commit (`follow-ups.ts`): publishing a
   * change, auditing it. Without it, changes leave no such intent.
   */
  readonly followUps?: FollowUpOptions;
}

export interface HeadEntry {
  readonly head: Head;
  readonly etag: string;
}

/**
 * Store entries a caller already read in its own request, holding at least the keys
 * `readKeys` named: the first attempt of a call uses them instead of a read of its own,
 * so a domain that must read a record of its own first (a session's) still answers in
 * one read. A retry after a lost CAS reads afresh.
 */
export interface Prefetched {
  /** The keys asked for: one absent from `entries` does not exist. */
  readonly keys: readonly string[];
  readonly entries: ReadonlyMap<string, KvEntry>;
}

export interface WriteOptions {
  /** Commit only if the key's live version is this (0: the key does not exist). */
  readonly expectedVersion?: number;
  /** Kept beside the value on the head and its history record. */
  readonly meta?: Record<string, Json>;
  readonly prefetched?: Prefetched | undefined;
}

export type WriteOutcome =
  | { readonly committed: true; readonly head: Head; readonly previous: Head | undefined }
  | { readonly committed: false; readonly currentVersion: number };

/**
 * A write ready to commit: `operations` are its one request, the head CAS last; the
 * caller may send them with other operations (see `VersionedRecords.plan`), and calls
 * `afterCommit` once they committed.
 */
export interface WritePlan {
  readonly operations: KvOperation[];
  readonly head: Head;
  readonly previous: Head | undefined;
  afterCommit(): void;
}

export interface PlanOptions extends WriteOptions {
  readonly prefetched: Prefetched;
  /** What `index` answered, called after the caller started reading the head. */
  readonly indexed?: readonly KvOperation[] | undefined;
}

export type RemoveOutcome =
  | { readonly removed: true; readonly tombstone: Head; readonly previous: Head }
  | { readonly removed: false; readonly currentVersion: number };

export interface ListOptions {
  readonly prefix: string;
  readonly limit: number;
  /** Listing resumes after this key. */
  readonly after?: string | undefined;
}

/**
 * The one versioned-record engine that persistent, shared and session state (and the
 * domains after them) are policies over (README, "Storage semantics").
 *
 * Every change commits with one single-key CAS on the key's head, sent in one request
 * with everything else the commit needs; whatever is derived from it follows the answer:
 * - an update is two store calls: read the head, then one transaction carrying the
 *   history record of the version it replaces (content fixed by that version, so racing
 *   writers write the same bytes), the history records retention drops, and the head
 *   CAS. On Redis the transaction is not atomic and need not be: if the CAS loses, the
 *   other operations changed nothing anybody can see.
 * - a create adds the key to its index leaf before committing (at most four calls);
 * - a delete is two calls, leaving a tombstone whose history and index entry the
 *   collector removes afterwards (`collector.ts`);
 * - the size change rides on the head as an intent that the usage shards take in after
 *   the answer (`usage-shards.ts`);
 * - with `followUps`, the change itself rides on the head as an intent whose work runs
 *   after the answer, by its writer or, should it die, by whoever meets it next or the
 *   sweep that every usage recount is (`follow-ups.ts`).
 * A call answers success exactly when its head committed; anything that fails after
 * is finished later, never reported.
 */
export interface VersionedRecords {
  readonly keys: EngineKeys;
  /** The store keys that `read` (or `write`/`remove`) of `key` reads first, for `Prefetched`. */
  readKeys(key: string, purpose: 'read' | 'write'): string[];
  /** The head of `key` (live or a tombstone), or `undefined` if it was never written. One call. */
  read(key: string, prefetched?: Prefetched): Promise<HeadEntry | undefined>;
  /** Commits `value` as the key's next version, unless `expectedVersion` does not match. */
  write(key: string, value: Json, options?: WriteOptions): Promise<WriteOutcome>;
  /**
   * `write` without the request: the operations that commit `value` on the head read in
   * `prefetched`, for a caller that commits several keys in one request. It sends them
   * with `kv.transact` and calls `afterCommit`; a `VersionConflict` means it reads
   * afresh and plans again. The quota check and, for a create, the index add (unless
   * `indexed`) run here.
   */
  plan(
    key: string,
    value: Json,
    options: PlanOptions,
  ): Promise<WritePlan | { committed: false; currentVersion: number }>;
  /**
   * Indexes `key` ahead of a `plan` given what this answers (`indexed`), side by side with
   * the read of its head: where transactions are atomic, it reads the leaf and answers
   * its save for the plan to commit with; elsewhere it writes the leaf and answers
   * nothing. The collector's fence (`collector.ts`) makes this as safe as adding it after
   * the read, and an entry whose creator never commits is collected.
   */
  index(key: string): Promise<readonly KvOperation[]>;
  /** Commits a tombstone, unless the key is not live or `expectedVersion` does not match. */
  remove(key: string, options?: WriteOptions): Promise<RemoveOutcome>;
  /** Version `version` of the key whose head is `head`, if retained. */
  version(head: Head, version: number): Promise<HistoryRecord | undefined>;
  /** The retained versions of `head`'s key, newest first, the head's included, at most `limit`. */
  history(head: Head, limit?: number): Promise<HistoryRecord[]>;
  /** Live heads of keys starting with `prefix` after `after`, sorted, at most `limit`. */
  list(options: ListOptions): Promise<{ heads: Head[]; cursor?: string }>;
  /** The usage counter as stored (the sum of its shards), once this worker's queue is applied. */
  usage(): Promise<number>;
  /**
   * Recounts usage from the heads and stores it. It reads every head, so it is also the
   * sweep that runs the follow-ups that dead workers left on heads nobody meets.
   */
  recountUsage(): Promise<number>;
  /** Writes many keys, many per store call, for restores and imports (`bulk-load.ts`). */
  bulkLoad(items: readonly BulkItem[], options?: { preserveVersions?: boolean }): Promise<BulkLoadResult>;
  /** Waits for the background work started so far (tests, shutdown). */
  settle(): Promise<void>;
}

// A write deletes at most this many history records below retention; a larger backlog
// (after retention was lowered) shrinks by this much per write.
const PRUNE_PER_WRITE = 16;
// getBulk requests stay well below a sidecar's request limits.
const BULK_KEYS = 256;

export function createVersionedRecords(kv: KvStore, options: VersionedRecordsOptions): VersionedRecords {
  const { namespace, retention, quotaBytes, exceeded, ttlSeconds, now = () => new Date() } = options;
  const runtime = options.runtime ?? engineRuntimeOf(kv);
  const keys = engineKeys(namespace);
  const index = createKeyIndex(kv, { namespace });
  const ttl = ttlSeconds === undefined ? {} : { ttlSeconds };
  const usage = usageShards(kv, runtime, {
    namespace: options.usage?.namespace ?? namespace,
    quotaBytes,
    exceeded,
    scanHeads: options.usage?.scanHeads ?? scanHeads,
    // Usage timing is compared across workers, so it runs on the wall clock, not on
    // the clock that stamps records (which tests set).
    now: Date.now,
  });
  const collection = collector(kv, runtime, {
    keys,
    index,
    retention,
    applyUsage: (key, intent) => usage.apply(key, intent),
  });
  const followUps =
    options.followUps === undefined
      ? undefined
      : {
          run: options.followUps.run,
          runner: followUpRunner(kv, runtime, {
            keys,
            ttl,
            graceMs: options.followUps.graceMs,
            now,
            settledTombstone: (key) => collection.enqueue([key]),
          }),
        };

  /** Lets the follow-up runner see a head a reader met, to roll abandoned changes forward. */
  function met(head: Head): void {
    if (followUps !== undefined && head.follow_ups !== undefined) followUps.runner.met(head, followUps.run);
  }

  /** The changes the head of a new commit carries: those not known done, and its own. */
  function followUpsAfter(
    replaced: Head | undefined,
    change: Omit<FollowUp, 'id'>,
  ): { follow_ups?: FollowUp[]; id?: string } {
    if (followUps === undefined) return {};
    const id = randomUUID();
    const carried = (replaced?.follow_ups ?? []).filter((followUp) => !followUps.runner.isDone(followUp.id));
    return { follow_ups: [...carried, { id, ...change }], id };
  }

  function committed(key: string, id: string | undefined): void {
    if (followUps !== undefined && id !== undefined) followUps.runner.committed(key, id, followUps.run);
  }

  function decodeHead(key: string, entry: KvEntry): HeadEntry {
    const storeKey = keys.head(key);
    const head = decodeRecord(headSchema, entry, storeKey);
    // A head that names another key was copied or written to the wrong place.
    if (head.key !== key)
      throw new AppError('DatabaseError', `store record ${storeKey} holds the head of another key`);
    return { head, etag: entry.etag };
  }

  async function readHeads(userKeys: readonly string[]): Promise<Map<string, HeadEntry>> {
    const heads = new Map<string, HeadEntry>();
    for (let start = 0; start < userKeys.length; start += BULK_KEYS) {
      const chunk = userKeys.slice(start, start + BULK_KEYS);
      const entries = await kv.getBulk(chunk.map((key) => keys.head(key)));
      for (const key of chunk) {
        const entry = entries.get(keys.head(key));
        if (entry !== undefined) heads.set(key, decodeHead(key, entry));
      }
    }
    return heads;
  }

  function writeReadKeys(key: string): string[] {
    return usage.cold() ? [keys.head(key), ...usage.shardKeys] : [keys.head(key)];
  }

  function headIn(key: string, entries: ReadonlyMap<string, KvEntry>): HeadEntry | undefined {
    const entry = entries.get(keys.head(key));
    return entry === undefined ? undefined : decodeHead(key, entry);
  }

  /** The head, with the usage shards in the same request when this worker has no recent sum. */
  async function readForWrite(
    key: string,
    prefetched: Prefetched | undefined,
  ): Promise<HeadEntry | undefined> {
    const wanted = prefetched?.keys ?? writeReadKeys(key);
    if (wanted.length === 1 && prefetched === undefined) return read(key);
    const entries = prefetched?.entries ?? (await kv.getBulk(wanted));
    if (usage.shardKeys.every((shard) => wanted.includes(shard))) usage.absorb(entries);
    return headIn(key, entries);
  }

  async function read(key: string): Promise<HeadEntry | undefined> {
    const entry = await kv.get(keys.head(key));
    return entry === undefined ? undefined : decodeHead(key, entry);
  }

  async function* scanHeads(): AsyncIterable<Head[]> {
    let after: string | undefined;
    // Heads carry their values: a bulk read of a thousand large ones held tens of MB at
    // once (measured during backups and restores of 64 KiB values), so the heads of an
    // index page are read in batches sized from the bytes the previous batch held.
    let batch = SCAN_BATCH_FIRST;
    do {
      const page = await index.list({ limit: 1000, ...(after === undefined ? {} : { after }) });
      for (let start = 0; start < page.keys.length; start += batch) {
        const heads = [...(await readHeads(page.keys.slice(start, start + batch))).values()].map(
          ({ head }) => head,
        );
        heads.forEach(met);
        yield heads;
        const bytes = heads.reduce((sum, head) => sum + head.size_bytes, 0);
        const perHead = Math.max(1, bytes / Math.max(1, heads.length));
        batch = Math.min(SCAN_BATCH_MAX, Math.max(SCAN_BATCH_MIN, Math.floor(SCAN_BATCH_BYTES / perHead)));
      }
      after = page.cursor;
    } while (after !== undefined);
  }

  /** The intents to apply after a commit: its own, and the overwritten one if still young. */
  function intentsAfter(replaced: Head | undefined, committed: Head): UsageIntent[] {
    const intents: UsageIntent[] = [];
    const carried = replaced?.pending;
    if (carried !== undefined && Date.now() - carried.at < CARRY_WINDOW_MS) intents.push(carried);
    if (committed.pending !== undefined) intents.push(committed.pending);
    return intents;
  }

  function floorOf(head: Head): number {
    return isLive(head) ? Math.max(head.since, head.version - retention + 1) : head.version + 1;
  }

  function intentFor(delta: number): { pending?: UsageIntent } {
    return delta === 0 ? {} : { pending: { id: newIntentId(), delta, at: Date.now() } };
  }

  /**
   * Everything a write commits with, but not sent: the operations of its one request
   * (the head CAS last) and what to run once they committed. No retry here: a lost race
   * shows as `committed: false` only when `expectedVersion` says so, and as a
   * `VersionConflict` of the request otherwise.
   */
  async function planWrite(
    key: string,
    value: Json,
    size: number,
    current: HeadEntry | undefined,
    {
      expectedVersion,
      meta,
      indexed,
    }: WriteOptions & { readonly indexed?: readonly KvOperation[] | undefined },
  ): Promise<WritePlan | { committed: false; currentVersion: number }> {
    const live = current !== undefined && isLive(current.head) ? current.head : undefined;
    if (expectedVersion !== undefined && (live?.version ?? 0) !== expectedVersion) {
      if (current !== undefined) met(current.head);
      return { committed: false, currentVersion: live?.version ?? 0 };
    }
    const version = (current?.head.version ?? 0) + 1;
    if (version > MAX_VERSION)
      throw new AppError(
        'DatabaseError',
        `key ${JSON.stringify(key)} has used up its ${MAX_VERSION} versions`,
      );
    const operations: KvOperation[] = [];
    let since = version;
    let prunedBelow = version;
    if (live !== undefined) {
      since = live.since;
      if (retention > 1)
        operations.push({
          op: 'save',
          key: keys.history(key, live.version),
          value: versionOf(live),
          options: ttl,
        });
      const floor = Math.max(since, version - retention + 1);
      prunedBelow = Math.max(live.pruned_below, Math.min(floor, live.pruned_below + PRUNE_PER_WRITE));
      for (let old = live.pruned_below; old < prunedBelow; old++)
        operations.push({ op: 'delete', key: keys.history(key, old) });
    } else if (current !== undefined && current.head.pruned_below < current.head.version) {
      // A tombstone whose history the collector has not removed yet: its old life
      // ends here, so the new one's records cannot be mistaken for it.
      const from = Math.max(current.head.pruned_below, current.head.version - 2 * retention);
      for (let old = from; old < current.head.version; old++)
        operations.push({ op: 'delete', key: keys.history(key, old) });
    }
    const at = now().toISOString();
    const delta = size - (live?.size_bytes ?? 0);
    const { id, ...changes } = followUpsAfter(current?.head, {
      version,
      updated_at: at,
      ...(meta === undefined ? {} : { meta }),
    });
    const head: Head = {
      key,
      value,
      version,
      since,
      pruned_below: prunedBelow,
      created_at: live?.created_at ?? at,
      updated_at: at,
      size_bytes: size,
      ...intentFor(delta),
      ...(meta === undefined ? {} : { meta }),
      ...changes,
    };
    assertRecordFits(kv, head, size);
    await usage.assertRoomFor(delta);
    const creates = current === undefined || current.head.unindexed === true;
    // A caller that indexed the key itself (`index`) while it read the head sends the
    // leaf's save with the commit, or has written it; written, it is written again if
    // a collector fenced the head meanwhile and may have unlisted it.
    if (indexed === undefined ? creates : indexed.length === 0 && current?.head.unindexed === true)
      await index.add(key);
    if (creates && indexed !== undefined) operations.unshift(...indexed);
    operations.push({
      op: 'save',
      key: keys.head(key),
      value: head,
      options: { ...(current === undefined ? { ifAbsent: true } : { etag: current.etag }), ...ttl },
    });
    return {
      operations,
      head,
      previous: live,
      afterCommit() {
        usage.enqueue(key, intentsAfter(current?.head, head));
        committed(key, id);
      },
    };
  }

  const loader = bulkLoader(kv, {
    keys,
    index,
    retention,
    ttl,
    now,
    readHeads,
    intentFor,
    afterCommit: (key, replaced, head) => usage.enqueue(key, intentsAfter(replaced, head)),
  });

  return {
    keys,

    readKeys: (key, purpose) => (purpose === 'write' ? writeReadKeys(key) : [keys.head(key)]),

    async read(key, prefetched) {
      const entry = prefetched === undefined ? await read(key) : headIn(key, prefetched.entries);
      if (entry !== undefined) met(entry.head);
      return entry;
    },

    write(key, value, options = {}) {
      const size = jsonByteLength(value);
      let unused = options.prefetched;
      return retryOnConflict(`write of ${keys.head(key)}`, async (): Promise<WriteOutcome> => {
        const current = await readForWrite(key, unused);
        unused = undefined;
        const plan = await planWrite(key, value, size, current, options);
        if (!('operations' in plan)) return plan;
        await kv.transact(plan.operations);
        plan.afterCommit();
        return { committed: true, head: plan.head, previous: plan.previous };
      });
    },

    async plan(key, value, options) {
      const { keys: wanted, entries } = options.prefetched;
      if (usage.shardKeys.every((shard) => wanted.includes(shard))) usage.absorb(entries);
      const current = headIn(key, entries);
      return planWrite(key, value, jsonByteLength(value), current, options);
    },

    async index(key) {
      if (kv.traits.atomicTransactions) return [await index.prepareAdd(key)];
      await index.add(key);
      return [];
    },

    remove(key, { expectedVersion, meta, prefetched } = {}) {
      let unused = prefetched;
      return retryOnConflict(`delete of ${keys.head(key)}`, async (): Promise<RemoveOutcome> => {
        const current = unused === undefined ? await read(key) : headIn(key, unused.entries);
        unused = undefined;
        const live = current !== undefined && isLive(current.head) ? current.head : undefined;
        if (current !== undefined && (live === undefined || expectedVersion !== undefined))
          if (live === undefined || live.version !== expectedVersion) met(current.head);
        if (current === undefined || live === undefined) return { removed: false, currentVersion: 0 };
        if (expectedVersion !== undefined && live.version !== expectedVersion)
          return { removed: false, currentVersion: live.version };
        const at = now().toISOString();
        const { id, ...changes } = followUpsAfter(live, {
          version: live.version,
          updated_at: at,
          deleted: true,
          ...(meta === undefined ? {} : { meta }),
        });
        const tombstone: Head = {
          key,
          value: null,
          version: live.version,
          since: live.since,
          pruned_below: live.pruned_below,
          created_at: live.created_at,
          updated_at: at,
          size_bytes: 0,
          deleted: true,
          ...intentFor(-live.size_bytes),
          ...(meta === undefined ? {} : { meta }),
          ...changes,
        };
        await kv.transact([
          { op: 'save', key: keys.head(key), value: tombstone, options: { etag: current.etag, ...ttl } },
        ]);
        usage.enqueue(key, intentsAfter(live, tombstone));
        committed(key, id);
        // With changes still to run, the runner hands the tombstone over once they ran.
        if (tombstone.follow_ups === undefined) collection.enqueue([key]);
        return { removed: true, tombstone, previous: live };
      });
    },

    async version(head, version) {
      if (version === head.version && isLive(head)) return versionOf(head);
      if (version > head.version || version < floorOf(head)) return undefined;
      const storeKey = keys.history(head.key, version);
      const entry = await kv.get(storeKey);
      // Absent only if the key moved on and pruned it since its head was read.
      return entry === undefined ? undefined : decodeHistory(storeKey, version, entry);
    },

    async history(head, limit) {
      const lowest = Math.max(floorOf(head), limit === undefined ? 1 : head.version - limit + 1);
      const older: number[] = [];
      for (let version = head.version - 1; version >= lowest; version--) older.push(version);
      const storeKeys = older.map((version) => keys.history(head.key, version));
      const records = new Map<string, KvEntry>();
      for (let start = 0; start < storeKeys.length; start += BULK_KEYS)
        for (const [key, entry] of await kv.getBulk(storeKeys.slice(start, start + BULK_KEYS)))
          records.set(key, entry);
      const versions = [versionOf(head)];
      for (const [position, version] of older.entries()) {
        const storeKey = storeKeys[position] as string;
        const entry = records.get(storeKey);
        // Pruning deletes oldest first, so a record missing because the key moved on
        // since its head was read ends the answer with what is still retained.
        if (entry === undefined) break;
        versions.push(decodeHistory(storeKey, version, entry));
      }
      return versions;
    },

    async list({ prefix, limit, after }) {
      const heads: Head[] = [];
      let resumeAfter = after;
      for (;;) {
        // Ask for no more than are still missing, so the page never has to be cut.
        const page = await index.list({
          prefix,
          limit: limit - heads.length,
          ...(resumeAfter === undefined ? {} : { after: resumeAfter }),
        });
        const found = await readHeads(page.keys);
        const stale: string[] = [];
        for (const key of page.keys) {
          const entry = found.get(key);
          if (entry !== undefined) met(entry.head);
          if (entry !== undefined && isLive(entry.head)) heads.push(entry.head);
          else stale.push(key);
        }
        // Entries without a live head: a deleted key not collected yet, or a creator
        // that died (or is about to commit: the collector's fence makes it start over).
        collection.enqueue(stale);
        if (page.cursor === undefined) return { heads };
        if (heads.length === limit) return { heads, cursor: page.cursor };
        resumeAfter = page.cursor;
      }
    },

    async usage() {
      await usage.flush();
      return usage.read();
    },
    recountUsage: () => usage.recount(),
    bulkLoad: (items, bulkOptions) => loader.load(items, bulkOptions?.preserveVersions ?? true),
    settle: () => runtime.background.settle(),
  };
}

function decodeHistory(storeKey: string, version: number, entry: KvEntry): HistoryRecord {
  const record = decodeRecord(historyRecordSchema, entry, storeKey);
  if (record.version !== version)
    throw new AppError('DatabaseError', `store record ${storeKey} holds another version`);
  return record;
}

/**
 * 64 random bits in 11 characters, under a third of a UUID's 36: every usage shard
 * remembers the last ids it applied and is read and written with every batch, so these
 * bytes are most of what applying usage moves. Two ids meet among a shard's with a
 * chance of about 1 in 10^15.
 */
function newIntentId(): string {
  return randomBytes(8).toString('base64url');
}

/** One version as history records and answers hold it. */
export function versionOf({
  value,
  version,
  created_at,
  updated_at,
  meta,
}: Head | HistoryRecord): HistoryRecord {
  return { value, version, created_at, updated_at, ...(meta === undefined ? {} : { meta }) };
}
