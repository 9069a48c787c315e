import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import { jsonByteLength, type Json } from '../json.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import { retryOnConflict, RETRY } from './cas-retry.ts';
import { createKeyIndex } from './key-index.ts';
import { keyNotFound } from './persistent-errors.ts';
import { isLive, readHead, readMany, type HeadEntry, type PersistentStore } from './persistent-heads.ts';
import { assertJsonValue, assertWholeNumber, MAX_PAGE_LIMIT } from './persistent-input.ts';
import { MAX_VERSION, persistentKeys } from './persistent-keys.ts';
import { listLiveHeads } from './persistent-listing.ts';
import { historyRecordSchema, type Head, type HistoryRecord } from './persistent-records.ts';
import { decodeRecord } from './stored-record.ts';
import { needsPruning, pruneHistory, visibleFloor } from './persistent-retention.ts';
import { createRollForward } from './persistent-roll-forward.ts';
import type {
  PersistentDeleteResult,
  PersistentGetResult,
  PersistentHistoryResult,
  PersistentListResult,
  PersistentQueryResult,
  PersistentSetResult,
} from './persistent-schemas.ts';
import { createPersistentUsage } from './persistent-usage.ts';
import { assertRecordFits } from './record-size.ts';
import { assertValidKeyPrefix, assertValidUserKey } from './user-key.ts';

export interface PersistentStateOptions {
  readonly tenant: string;
  readonly agent: string;
  /** Versions kept per key, counting the current one. @default 100 */
  readonly retention?: number;
  /** Bytes of live values' JSON the agent may store. @default 100 MiB */
  readonly quotaBytes?: number;
  /** The clock that stamps `created_at` and `updated_at`. @default () => new Date() */
  readonly now?: () => Date;
}

export interface PersistentListOptions {
  /** Only keys starting with this. @default '' (every key) */
  readonly prefix?: string;
  /** @default 1000, at most 1000 */
  readonly limit?: number;
  /** The `cursor` of the previous page. */
  readonly cursor?: string;
}

export interface PersistentQueryOptions {
  readonly prefix: string;
  /** @default 100, at most 1000 */
  readonly limit?: number;
  readonly cursor?: string;
}

/**
 * One agent's persistent state: the `state.persistent.*` capabilities. Keys are opaque
 * strings of 1 to 512 bytes; every write makes a new version, numbered from 1 and never
 * reused, not even after the key is deleted and written again. Bad arguments are
 * `InvalidInput` and write nothing; store failures are `DatabaseError` (or `Unavailable`).
 */
export interface PersistentState {
  /** The latest version of `key`, or version `version`; `KeyNotFound` if the key does not exist or that version is not retained. */
  get(key: string, version?: number): Promise<PersistentGetResult>;
  /** Writes a new version; `QuotaExceeded` (writing nothing) if it would pass the quota. */
  set(key: string, value: Json): Promise<PersistentSetResult>;
  /** Removes the key with all its versions; `KeyNotFound` if it does not exist. */
  delete(key: string): Promise<PersistentDeleteResult>;
  /** Keys with their latest version, size and update time, sorted, one page at a time. */
  list(options?: PersistentListOptions): Promise<PersistentListResult>;
  /** Like `list`, with values and creation times. */
  query(options: PersistentQueryOptions): Promise<PersistentQueryResult>;
  /** The retained versions of `key`, newest first, at most `limit`; `KeyNotFound` if the key does not exist. */
  history(key: string, limit?: number): Promise<PersistentHistoryResult>;
  /** The bytes counted against the quota. */
  usage(): Promise<{ bytes: number }>;
}

const DEFAULT_LIST_LIMIT = 1000;
// Query pages carry values, which may be large, so they are smaller by default.
const DEFAULT_QUERY_LIMIT = 100;

/**
 * Persistent state over a `KvStore` with nothing but single-key compare-and-swap
 * (DESIGN.md section 2). Each change has one commit point, a CAS on the key's head
 * record; everything derived from it is idempotent or rolled forward:
 * - a history record of version n is written before the head moves past n, with
 *   content fixed by version n, so writers racing for the same move write the same bytes;
 * - the quota counter learns of the change through an intent committed on the head
 *   (`usage-counter.ts`), which the writer or the head's next reader applies;
 * - retention deletes history records below the floor after the commit and records its
 *   progress on the head, so the next writer redoes what a crash cut short;
 * - the key index learns of a new key before its head commits and forgets a deleted
 *   one after, so a crash leaves at worst an index entry without a live head, which
 *   listing skips.
 */
export function createPersistentState(kv: KvStore, options: PersistentStateOptions): PersistentState {
  const { tenant, agent, retention = 100, quotaBytes = 100 * 1024 * 1024, now = () => new Date() } = options;
  assertWholeNumber('retention', retention, 1);
  assertWholeNumber('quotaBytes', quotaBytes, 0);
  const keys = persistentKeys(tenant, agent);
  const store: PersistentStore = { kv, keys };
  const index = createKeyIndex(kv, { namespace: keys.namespace });
  const usage = createPersistentUsage(store, index, quotaBytes);
  const rollForward = createRollForward(store, usage, retention);

  /** The head of a live key, with any unfinished work of its writer done first. */
  async function readLiveHead(capability: 'get' | 'history', key: string): Promise<Head> {
    const current = await readHead(store, key);
    if (current !== undefined && rollForward.needed(current.head)) await rollForward.run(current);
    if (current === undefined || !isLive(current.head)) throw keyNotFound(capability, key);
    return current.head;
  }

  function decodeHistory(key: string, version: number, entry: KvEntry): HistoryRecord {
    const storeKey = keys.history(key, version);
    const record = decodeRecord(historyRecordSchema, entry, storeKey);
    if (record.version !== version)
      throw new AppError('DatabaseError', `store record ${storeKey} holds another version`);
    return record;
  }

  /** Commits a new version of `key` on its head: the commit point of `set`. */
  async function commitSet(
    key: string,
    value: Json,
    size: number,
  ): Promise<{ entry: HeadEntry; previous: number }> {
    // The version whose history record an attempt wrote before losing its race.
    let written: number | undefined;
    return retryOnConflict(`set of ${keys.head(key)}`, async () => {
      const current = await readHead(store, key);
      if (current !== undefined && rollForward.needed(current.head)) {
        await rollForward.run(current);
        return RETRY;
      }
      // The winner's pruning may already have passed that record; nobody deletes it later.
      if (written !== undefined && current !== undefined && written < visibleFloor(current.head, retention))
        await kv.delete(keys.history(key, written));
      written = undefined;

      const previous = current !== undefined && isLive(current.head) ? current.head : undefined;
      const version = (current?.head.version ?? 0) + 1;
      if (version > MAX_VERSION)
        throw new AppError(
          'DatabaseError',
          `key ${JSON.stringify(key)} has used up its ${MAX_VERSION} versions`,
        );
      const delta = size - (previous?.size_bytes ?? 0);
      const at = now().toISOString();
      const head: Head = {
        key,
        value,
        version,
        created_at: previous?.created_at ?? at,
        updated_at: at,
        size_bytes: size,
        // A tombstone is only overwritten once its history is gone (rollForward), so a
        // re-created key starts its visible history at its new version.
        pruned_below: current?.head.pruned_below ?? 1,
        ...(delta === 0 ? {} : { pending: { usage_delta: delta, id: randomUUID() } }),
      };
      assertRecordFits(kv, head, size);
      await usage.assertRoomFor(delta);

      if (previous === undefined) {
        await index.add(key);
      } else {
        await kv.save(keys.history(key, previous.version), versionOf(previous));
        written = previous.version;
      }
      const etag = await kv.save(
        keys.head(key),
        head,
        current === undefined ? { ifAbsent: true } : { etag: current.etag },
      );
      return { entry: { head, etag }, previous: previous?.version ?? 0 };
    });
  }

  return {
    async get(key, version) {
      assertValidUserKey(key);
      if (version !== undefined) assertWholeNumber('version', version, 1);
      const head = await readLiveHead('get', key);
      if (version === undefined || version === head.version) return { ...versionOf(head), found: true };
      if (version > head.version || version < visibleFloor(head, retention))
        throw keyNotFound('get', key, version);
      const entry = await kv.get(keys.history(key, version));
      // Absent only if the key moved on and pruned it since its head was read.
      if (entry === undefined) throw keyNotFound('get', key, version);
      return { ...versionOf(decodeHistory(key, version, entry)), found: true };
    },

    async set(key, value) {
      assertValidUserKey(key);
      assertJsonValue(value);
      const { entry, previous } = await commitSet(key, value, jsonByteLength(value));
      const settled = await rollForward.settleIntent(entry);
      // Closes the race with a concurrent delete of the same key (see `delete`): a
      // creator checks the index after its commit, a deleter the head after its removal.
      if (previous === 0 && !(await index.has(key))) await index.add(key);
      if (settled !== undefined && needsPruning(settled.head, retention))
        await pruneHistory(store, settled, retention);
      return { version: entry.head.version, previous_version: previous };
    },

    async delete(key) {
      assertValidUserKey(key);
      const committed = await retryOnConflict(`delete of ${keys.head(key)}`, async () => {
        const current = await readHead(store, key);
        if (current !== undefined && rollForward.needed(current.head)) {
          await rollForward.run(current);
          return RETRY;
        }
        if (current === undefined || !isLive(current.head)) throw keyNotFound('delete', key);
        const { head: live } = current;
        const tombstone: Head = {
          key,
          value: null,
          version: live.version,
          created_at: live.created_at,
          updated_at: now().toISOString(),
          size_bytes: 0,
          deleted: true,
          pruned_below: live.pruned_below,
          pending: { usage_delta: -live.size_bytes, id: randomUUID() },
        };
        return { head: tombstone, etag: await kv.save(keys.head(key), tombstone, { etag: current.etag }) };
      });
      await rollForward.settleIntent(committed);
      // A creator may commit between our tombstone and this removal, and may already
      // have checked that the key is indexed. So after removing, read the head: if it is
      // live again, put the key back. Either the removal came before the creator's check
      // (which then re-adds the key) or after it, and so after its commit, which this
      // read then sees. Only a crash right between removal and re-add can leave a live
      // key unindexed; its next delete and re-create brings it back.
      await index.remove(key);
      const after = await readHead(store, key);
      if (after !== undefined && isLive(after.head)) await index.add(key);
      else if (after !== undefined && rollForward.needed(after.head)) await rollForward.run(after);
      return { deleted: true };
    },

    async list({ prefix = '', limit = DEFAULT_LIST_LIMIT, cursor } = {}) {
      const page = await listPage(prefix, limit, cursor);
      const entries = page.records.map(({ key, version, size_bytes, updated_at }) => ({
        key,
        version,
        size_bytes,
        updated_at,
      }));
      const total = entries.reduce((sum, entry) => sum + entry.size_bytes, 0);
      return { entries, count: entries.length, total_size_bytes: total, ...cursorOf(page) };
    },

    async query({ prefix, limit = DEFAULT_QUERY_LIMIT, cursor }) {
      const page = await listPage(prefix, limit, cursor);
      const entries = page.records.map((head) => ({ key: head.key, ...versionOf(head) }));
      return { entries, count: entries.length, ...cursorOf(page) };
    },

    async history(key, limit) {
      assertValidUserKey(key);
      if (limit !== undefined) assertWholeNumber('limit', limit, 1);
      const head = await readLiveHead('history', key);
      const lowest = Math.max(
        visibleFloor(head, retention),
        limit === undefined ? 1 : head.version - limit + 1,
      );
      const older: number[] = [];
      for (let version = head.version - 1; version >= lowest; version--) older.push(version);
      const records = await readMany(
        kv,
        older.map((version) => keys.history(key, version)),
      );
      const versions = [versionOf(head)];
      for (const version of older) {
        const entry = records.get(keys.history(key, version));
        // Pruning deletes oldest first, so a record missing because the key moved on
        // since its head was read ends the answer with what is still retained.
        if (entry === undefined) break;
        versions.push(versionOf(decodeHistory(key, version, entry)));
      }
      return { versions, count: versions.length };
    },

    async usage() {
      return { bytes: (await usage.read()).bytes };
    },
  };

  function listPage(prefix: string, limit: number, cursor: string | undefined) {
    assertValidKeyPrefix(prefix);
    assertWholeNumber('limit', limit, 1, MAX_PAGE_LIMIT);
    if (cursor !== undefined) assertValidUserKey(cursor, 'cursor');
    return listLiveHeads({ store, index, rollForward }, { prefix, limit, after: cursor });
  }
}

/** One version as history records and answers hold it. */
function versionOf({ value, version, created_at, updated_at }: Head | HistoryRecord): HistoryRecord {
  return { value, version, created_at, updated_at };
}

function cursorOf(page: { cursor?: string }): { cursor?: string } {
  return page.cursor === undefined ? {} : { cursor: page.cursor };
}
