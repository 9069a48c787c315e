import type { Json } from '../json.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import type { BulkItem, BulkLoadResult } from '../engine/bulk-load.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
import type { KeyedFollowUp } from '../engine/follow-ups.ts';
import { isLive, type Head } from '../engine/head-record.ts';
import { createVersionedRecords } from '../engine/versioned-records.ts';
import { assertJsonValue, assertWholeNumber, MAX_PAGE_LIMIT } from './persistent-input.ts';
import { auditRecordOf, createAuditTrail } from './shared-audit.ts';
import { sharedKeyNotFound, sharedQuotaExceeded, sharedVersionConflict } from './shared-errors.ts';
import { changeEventOf, notificationOf, NOTIFICATIONS_TOPIC, SHARED_CHANGES_TOPIC } from './shared-events.ts';
import { sharedNamespace } from './shared-keys.ts';
import { sharedMetaOf } from './shared-records.ts';
import type {
  SharedDeleteResult,
  SharedGetResult,
  SharedListInput,
  SharedListResult,
  SharedSetResult,
} from './shared-schemas.ts';
import { assertValidKeyPrefix, assertValidNamespaceId, assertValidUserKey } from './user-key.ts';

export interface SharedStateOptions {
  readonly tenant: string;
  /** Bytes of live values' JSON the tenant's shared state may hold. @default 500 MiB */
  readonly quotaBytes?: number;
  /** The clock that stamps `updated_at` and change events. @default () => new Date() */
  readonly now?: () => Date;
  /**
   * How long the writer of a committed change has to publish and audit it before
   * readers, writers and sweeps take over, taking it for dead (`follow-ups.ts`). Longer
   * delays recovery after a crash; shorter makes others publish changes again while
   * their writers are still at work. At most 5000.
   * @default 2000
   */
  readonly intentGraceMs?: number;
  /** Days the audit trail keeps a record. @default 90 */
  readonly auditRetentionDays?: number;
  /** @default the engine runtime shared by everything built over `kv` in this worker */
  readonly runtime?: EngineRuntime;
}

/**
 * One tenant's shared state: the `state.shared.*` capabilities but `watch`. Keys are
 * opaque strings of 1 to 512 bytes. Every write is conditional on the version its
 * caller read (optimistic locking); versions count from 1 and are never reused, not
 * even after the key is deleted and created again. Every committed set and delete is
 * a Notify action: it publishes a change event and a notification and writes an audit
 * record, after the answer and at least once, also across a crash. Bad arguments are
 * `InvalidInput` and write nothing; store failures are `DatabaseError` (or
 * `Unavailable`), and then nothing was committed.
 */
export interface SharedState {
  /** The key's value, version, last writer and update time; for a missing key `found: false` and version 0. */
  get(key: string): Promise<SharedGetResult>;
  /**
   * Writes a new version by `agent` if the key's current version is `expectedVersion`
   * (0: the key does not exist); otherwise `VersionConflict` with `current_version` in
   * its details. `QuotaExceeded` if the write would pass the tenant's quota. Either way
   * nothing is written.
   */
  set(agent: string, key: string, value: Json, expectedVersion: number): Promise<SharedSetResult>;
  /**
   * Removes the key: whatever its version, or only if it is at `expectedVersion`
   * (otherwise `VersionConflict` with `current_version`, and nothing is removed).
   * `KeyNotFound` if it does not exist.
   */
  delete(agent: string, key: string, expectedVersion?: number): Promise<SharedDeleteResult>;
  /** Live keys with version, size, last writer and update time, sorted, one page at a time. */
  list(options?: SharedListInput): Promise<SharedListResult>;
  /** The bytes counted against the quota. */
  usage(): Promise<{ bytes: number }>;
  /**
   * Writes many keys by their writers (`meta.owner_agent`), many per store call: the
   * path of restores. Versions are kept where above what a key had, else renumbered
   * above it, so a writer holding an old version gets `VersionConflict`. Loaded keys
   * publish no change events: the restore that loads them is audited as one action.
   */
  load(items: readonly BulkItem[]): Promise<BulkLoadResult>;
  /** Waits for the background work this worker started (events, audit, usage, clean-up). */
  settle(): Promise<void>;
}

/** The answer for a key that does not exist, fresh each time so that no caller can change another's. */
const missing = (): SharedGetResult => ({
  value: null,
  version: 0,
  found: false,
  owner_agent: null,
  updated_at: null,
});

/**
 * Shared state: a policy over the versioned-record engine (`versioned-records.ts`) that
 * keeps no history (retention 1), maps `expected_version` to the engine's conditional
 * write (a CAS on the head, so `VersionConflict` exactly when another write won), keeps
 * the writer as the head's `meta`, and gives every change a follow-up that audits and
 * publishes it (`follow-ups.ts`): run after the answer by its writer, or by whoever
 * meets the change once its writer let the grace period pass.
 */
export function createSharedState(kv: KvStore, bus: EventBus, options: SharedStateOptions): SharedState {
  const {
    tenant,
    quotaBytes = 500 * 1024 * 1024,
    now,
    intentGraceMs = 2000,
    auditRetentionDays = 90,
    runtime,
  } = options;
  const namespace = sharedNamespace(tenant);
  assertWholeNumber('quotaBytes', quotaBytes, 0);
  assertWholeNumber('intentGraceMs', intentGraceMs, 0, 5000);
  assertWholeNumber('auditRetentionDays', auditRetentionDays, 1);
  const audit = createAuditTrail(kv, tenant, {
    retentionDays: auditRetentionDays,
    ...(runtime === undefined ? {} : { runtime }),
  });
  const records = createVersionedRecords(kv, {
    namespace,
    retention: 1,
    quotaBytes,
    exceeded: sharedQuotaExceeded,
    followUps: { run: announce, graceMs: intentGraceMs },
    ...(now === undefined ? {} : { now }),
    ...(runtime === undefined ? {} : { runtime }),
  });

  /** The follow-up of committed changes: audit them, then publish them in order. */
  async function announce(changes: readonly KeyedFollowUp[]): Promise<void> {
    const events = changes.map((change) => changeEventOf(tenant, change));
    await audit.write(events.map(auditRecordOf));
    for (const event of events) {
      await bus.publish(SHARED_CHANGES_TOPIC, event);
      await bus.publish(NOTIFICATIONS_TOPIC, notificationOf(event));
    }
  }

  function ownerOf(head: Head): string {
    return sharedMetaOf(head.meta, records.keys.head(head.key)).owner_agent;
  }

  return {
    // The spec lists KeyNotFound among get's errors, yet defines get's answer for a
    // missing key (`found` false, `value` null, version 0) and builds its read-modify-
    // write pattern on it: get, then set with the version read, which for a new key is
    // the 0 that creates it. Throwing would break that loop for the first writer, so
    // get answers; KeyNotFound is kept for delete, which has no such answer.
    async get(key) {
      assertValidUserKey(key);
      const entry = await records.read(key);
      if (entry === undefined || !isLive(entry.head)) return missing();
      const { head } = entry;
      return {
        value: head.value,
        version: head.version,
        found: true,
        owner_agent: ownerOf(head),
        updated_at: head.updated_at,
      };
    },

    async set(agent, key, value, expectedVersion) {
      assertValidNamespaceId('agent', agent);
      assertValidUserKey(key);
      assertJsonValue(value);
      assertWholeNumber('expected_version', expectedVersion, 0);
      const outcome = await records.write(key, value, { expectedVersion, meta: { owner_agent: agent } });
      if (!outcome.committed) throw sharedVersionConflict(key, expectedVersion, outcome.currentVersion);
      return { version: outcome.head.version };
    },

    async delete(agent, key, expectedVersion) {
      assertValidNamespaceId('agent', agent);
      assertValidUserKey(key);
      if (expectedVersion !== undefined) assertWholeNumber('expected_version', expectedVersion, 1);
      const outcome = await records.remove(key, {
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
        meta: { owner_agent: agent },
      });
      if (outcome.removed) return { deleted: true };
      if (outcome.currentVersion === 0) throw sharedKeyNotFound(key);
      throw sharedVersionConflict(key, expectedVersion ?? 0, outcome.currentVersion);
    },

    async list({ prefix = '', limit = MAX_PAGE_LIMIT, cursor } = {}) {
      assertValidKeyPrefix(prefix);
      assertWholeNumber('limit', limit, 1, MAX_PAGE_LIMIT);
      if (cursor !== undefined) assertValidUserKey(cursor, 'cursor');
      const page = await records.list({ prefix, limit, after: cursor });
      const entries = page.heads.map((head) => ({
        key: head.key,
        version: head.version,
        size_bytes: head.size_bytes,
        owner_agent: ownerOf(head),
        updated_at: head.updated_at,
      }));
      return {
        entries,
        count: entries.length,
        total_size_bytes: entries.reduce((sum, entry) => sum + entry.size_bytes, 0),
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      };
    },

    async usage() {
      return { bytes: await records.usage() };
    },

    async load(items) {
      for (const item of items) {
        assertValidUserKey(item.key);
        assertJsonValue(item.value);
        sharedMetaOf(item.meta, item.key);
      }
      return records.bulkLoad(items, { preserveVersions: true });
    },

    settle: () => records.settle(),
  };
}
