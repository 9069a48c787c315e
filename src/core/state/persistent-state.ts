import type { Json } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
import type { BulkItem, BulkLoadResult } from '../engine/bulk-load.ts';
import { isLive, type Head, type HistoryRecord } from '../engine/head-record.ts';
import { createVersionedRecords } from '../engine/versioned-records.ts';
import { keyNotFound, quotaExceeded } from './persistent-errors.ts';
import { assertJsonValue, assertWholeNumber, MAX_PAGE_LIMIT } from './persistent-input.ts';
import { agentUsage } from './agent-usage.ts';
import { persistentNamespace } from './persistent-keys.ts';
import type {
  PersistentDeleteResult,
  PersistentGetResult,
  PersistentHistoryResult,
  PersistentListResult,
  PersistentQueryResult,
  PersistentSetResult,
} from './persistent-schemas.ts';
import { assertValidKeyPrefix, assertValidUserKey } from './user-key.ts';

export interface PersistentStateOptions {
  readonly tenant: string;
  readonly agent: string;
  /** Versions kept per key, counting the current one. @default 100 */
  readonly retention?: number;
  /**
   * Bytes of the agent's state (its persistent values and its checkpoints, `agent-usage.ts`)
   * the agent may store. @default 100 MiB
   */
  readonly quotaBytes?: number;
  /** The clock that stamps `created_at` and `updated_at`. @default () => new Date() */
  readonly now?: () => Date;
  /** @default the engine runtime shared by everything built over `kv` in this worker */
  readonly runtime?: EngineRuntime;
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
  /**
   * A page of live keys, sorted, each with its retained versions oldest first: the read
   * path of backups. The heads come with the page's bulk read; a key's older versions
   * cost one more bulk read, and only for keys that have any.
   */
  versionsPage(options?: { limit?: number; cursor?: string }): Promise<PersistentVersionsPage>;
  /**
   * Writes many keys with their history, many per store call: the path of restores and
   * imports. Versions are kept where they are above what a key had, else renumbered
   * above it, so versions never go backwards. Idempotent: a retry after a failure
   * finishes the keys not yet loaded.
   */
  load(items: readonly BulkItem[], options?: { preserveVersions?: boolean }): Promise<BulkLoadResult>;
  /** Waits for the background work this worker started for the agent (index, usage). */
  settle(): Promise<void>;
}

export interface PersistentVersionsPage {
  readonly keys: { key: string; versions: ReturnType<typeof versionOf>[] }[];
  readonly cursor?: string;
}

const DEFAULT_LIST_LIMIT = 1000;
// Query pages carry values, which may be large, so they are smaller by default.
const DEFAULT_QUERY_LIMIT = 100;

/**
 * Persistent state: a policy over the versioned-record engine (`versioned-records.ts`)
 * that keeps `retention` versions per key, counts usage against the agent's quota and
 * answers a key that is not live with `KeyNotFound`.
 */
export function createPersistentState(kv: KvStore, options: PersistentStateOptions): PersistentState {
  const { tenant, agent, retention = 100, quotaBytes = 100 * 1024 * 1024, now, runtime } = options;
  assertWholeNumber('retention', retention, 1);
  assertWholeNumber('quotaBytes', quotaBytes, 0);
  const records = createVersionedRecords(kv, {
    namespace: persistentNamespace(tenant, agent),
    retention,
    quotaBytes,
    exceeded: quotaExceeded,
    usage: agentUsage(kv, tenant, agent),
    ...(now === undefined ? {} : { now }),
    ...(runtime === undefined ? {} : { runtime }),
  });

  async function liveHead(capability: 'get' | 'history', key: string): Promise<Head> {
    const entry = await records.read(key);
    if (entry === undefined || !isLive(entry.head)) throw keyNotFound(capability, key);
    return entry.head;
  }

  async function listPage(prefix: string, limit: number, cursor: string | undefined) {
    assertValidKeyPrefix(prefix);
    assertWholeNumber('limit', limit, 1, MAX_PAGE_LIMIT);
    if (cursor !== undefined) assertValidUserKey(cursor, 'cursor');
    return records.list({ prefix, limit, after: cursor });
  }

  return {
    async get(key, version) {
      assertValidUserKey(key);
      if (version !== undefined) assertWholeNumber('version', version, 1);
      const head = await liveHead('get', key);
      if (version === undefined || version === head.version) return { ...versionOf(head), found: true };
      const record = await records.version(head, version);
      if (record === undefined) throw keyNotFound('get', key, version);
      return { ...versionOf(record), found: true };
    },

    async set(key, value) {
      assertValidUserKey(key);
      assertJsonValue(value);
      const outcome = await records.write(key, value);
      // Without an expected version every write commits; the union says so for the compiler.
      if (!outcome.committed) throw new Error('unconditional write refused');
      return { version: outcome.head.version, previous_version: outcome.previous?.version ?? 0 };
    },

    async delete(key) {
      assertValidUserKey(key);
      const outcome = await records.remove(key);
      if (!outcome.removed) throw keyNotFound('delete', key);
      return { deleted: true };
    },

    async list({ prefix = '', limit = DEFAULT_LIST_LIMIT, cursor } = {}) {
      const page = await listPage(prefix, limit, cursor);
      const entries = page.heads.map(({ key, version, size_bytes, updated_at }) => ({
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
      const entries = page.heads.map((head) => ({ key: head.key, ...versionOf(head) }));
      return { entries, count: entries.length, ...cursorOf(page) };
    },

    async history(key, limit) {
      assertValidUserKey(key);
      if (limit !== undefined) assertWholeNumber('limit', limit, 1);
      const head = await liveHead('history', key);
      const versions = (await records.history(head, limit)).map(versionOf);
      return { versions, count: versions.length };
    },

    async usage() {
      return { bytes: await records.usage() };
    },

    async versionsPage({ limit = DEFAULT_QUERY_LIMIT, cursor } = {}) {
      const page = await listPage('', limit, cursor);
      const keys = [];
      for (const head of page.heads)
        keys.push({ key: head.key, versions: (await records.history(head)).map(versionOf).reverse() });
      return { keys, ...cursorOf(page) };
    },

    async load(items, loadOptions) {
      for (const item of items) {
        assertValidUserKey(item.key);
        assertJsonValue(item.value);
        for (const earlier of item.history ?? []) assertJsonValue(earlier.value);
      }
      return records.bulkLoad(items, loadOptions);
    },

    settle: () => records.settle(),
  };
}

/** One version as answers hold it. */
function versionOf({ value, version, created_at, updated_at }: Head | HistoryRecord) {
  return { value, version, created_at, updated_at };
}

function cursorOf(page: { cursor?: string }): { cursor?: string } {
  return page.cursor === undefined ? {} : { cursor: page.cursor };
}
