import { randomUUID } from 'node:crypto';
import { jsonByteLength, type Json } from '../json.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { retryOnConflict, RETRY } from './cas-retry.ts';
import { createKeyIndex } from './key-index.ts';
import { assertJsonValue, assertWholeNumber, MAX_PAGE_LIMIT } from './persistent-input.ts';
import { createAuditTrail } from './shared-audit.ts';
import { sharedKeyNotFound, sharedVersionConflict } from './shared-errors.ts';
import { isLiveShared, readSharedHead, type SharedHeadEntry, type SharedStore } from './shared-heads.ts';
import { sharedKeys } from './shared-keys.ts';
import { listLiveSharedHeads } from './shared-listing.ts';
import type { SharedHead } from './shared-records.ts';
import { createSharedRollForward } from './shared-roll-forward.ts';
import type {
  SharedDeleteResult,
  SharedGetResult,
  SharedListInput,
  SharedListResult,
  SharedSetResult,
} from './shared-schemas.ts';
import { createSharedUsage } from './shared-usage.ts';
import { assertRecordFits } from './record-size.ts';
import { assertValidKeyPrefix, assertValidNamespaceId, assertValidUserKey } from './user-key.ts';

export interface SharedStateOptions {
  readonly tenant: string;
  /** Bytes of live values' JSON the tenant's shared state may hold. @default 500 MiB */
  readonly quotaBytes?: number;
  /** The clock that stamps `updated_at` and change events. @default () => new Date() */
  readonly now?: () => Date;
  /**
   * How long the writer of a committed change has to finish its follow-ups (usage,
   * audit record, events) before readers and other writers take over, taking it for
   * dead (`shared-roll-forward.ts`). Longer delays recovery after a crash; shorter
   * makes helpers publish changes again while their writers are still at work. At most
   * 5000, so that a writer waiting for a dead writer's intent takes over well within
   * its retry budget (`cas-retry.ts`).
   * @default 2000
   */
  readonly intentGraceMs?: number;
}

/**
 * One tenant's shared state: the `state.shared.*` capabilities but `watch`. Keys are
 * opaque strings of 1 to 512 bytes. Every write is conditional on the version its
 * caller read (optimistic locking); versions count from 1 and are never reused, not
 * even after the key is deleted and created again. Every committed set and delete is
 * a Notify action: it publishes a change event and a notification and writes an audit
 * record, at least once even across a crash. Bad arguments are `InvalidInput` and
 * write nothing; store failures are `DatabaseError` (or `Unavailable`). An error after
 * the commit point (a store or bus failure while finishing) leaves the write committed,
 * like any answer lost on the way; whoever meets the key after `intentGraceMs` finishes it.
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
 * Shared state over a `KvStore` with nothing but single-key compare-and-swap and an
 * `EventBus` (see `ports/kv-store.ts`). Each change has one commit point, a CAS on the
 * key's head, which carries an intent naming the change; everything derived from it is
 * idempotent, done by the writer and, should it die, by whoever meets the head after
 * the intent's grace period:
 * - the usage record, the audit record, the change event and the notification
 *   (`shared-roll-forward.ts`), after which the intent is cleared;
 * - the key index learns of a new key before its head commits and forgets a deleted
 *   one after, so a crash leaves at worst an index entry without a live head, which
 *   listing skips.
 * `expected_version` is checked against the head read for the CAS, so a write is
 * refused with `VersionConflict` exactly when another write committed since.
 */
export function createSharedState(kv: KvStore, bus: EventBus, options: SharedStateOptions): SharedState {
  const { tenant, quotaBytes = 500 * 1024 * 1024, now = () => new Date(), intentGraceMs = 2000 } = options;
  assertWholeNumber('quotaBytes', quotaBytes, 0);
  assertWholeNumber('intentGraceMs', intentGraceMs, 0, 5000);
  const keys = sharedKeys(tenant);
  const store: SharedStore = { kv, keys };
  const index = createKeyIndex(kv, { namespace: keys.namespace });
  const usage = createSharedUsage(store, index, quotaBytes);
  const audit = createAuditTrail(kv, tenant);
  const rollForward = createSharedRollForward({
    tenant,
    store,
    usage,
    audit,
    bus,
    graceMs: intentGraceMs,
    now,
  });

  /** Commits the write on the key's head: the commit point of `set`, or the version found instead. */
  function commitSet(agent: string, key: string, value: Json, expected: number) {
    const size = jsonByteLength(value);
    const waitForIntent = rollForward.createWaiter();
    return retryOnConflict(`set of ${keys.head(key)}`, async () => {
      const current = await readSharedHead(store, key);
      const live = current !== undefined && isLiveShared(current.head) ? current.head : undefined;
      if ((live?.version ?? 0) !== expected) {
        if (current !== undefined) await rollForward.settleIfAbandoned(current);
        // Answered rather than thrown, because retryOnConflict takes every
        // VersionConflict for a lost CAS and would try again.
        return { conflict: live?.version ?? 0 };
      }
      if (current?.head.pending !== undefined) {
        await waitForIntent(current);
        return RETRY;
      }
      const delta = size - (live?.size_bytes ?? 0);
      const head: SharedHead = {
        key,
        value,
        version: (current?.head.version ?? 0) + 1,
        owner_agent: agent,
        updated_at: now().toISOString(),
        size_bytes: size,
        pending: { usage_delta: delta, id: randomUUID() },
      };
      assertRecordFits(kv, head, size);
      await usage.assertRoomFor(delta);
      if (live === undefined) await index.add(key);
      const etag = await kv.save(
        keys.head(key),
        head,
        current === undefined ? { ifAbsent: true } : { etag: current.etag },
      );
      return { committed: { head, etag }, created: live === undefined };
    });
  }

  return {
    // The spec lists KeyNotFound among get's errors, yet defines get's answer for a
    // missing key (`found` false, `value` null, version 0) and builds its read-modify-
    // write pattern on it: get, then set with the version read, which for a new key is
    // the 0 that creates it. Throwing would break that loop for the first writer, so
    // get answers; KeyNotFound is kept for delete, which has no such answer.
    async get(key) {
      assertValidUserKey(key);
      const current = await readSharedHead(store, key);
      if (current === undefined) return missing();
      await rollForward.settleIfAbandoned(current);
      const { head } = current;
      if (!isLiveShared(head)) return missing();
      return {
        value: head.value,
        version: head.version,
        found: true,
        owner_agent: head.owner_agent,
        updated_at: head.updated_at,
      };
    },

    async set(agent, key, value, expectedVersion) {
      assertValidNamespaceId('agent', agent);
      assertValidUserKey(key);
      assertJsonValue(value);
      assertWholeNumber('expected_version', expectedVersion, 0);
      const outcome = await commitSet(agent, key, value, expectedVersion);
      if ('conflict' in outcome) throw sharedVersionConflict(key, expectedVersion, outcome.conflict);
      // Closes the race with a concurrent delete of the same key (see `delete`): a
      // creator checks the index after its commit, a deleter the head after its removal.
      if (outcome.created && !(await index.has(key))) await index.add(key);
      await rollForward.settle(outcome.committed);
      return { version: outcome.committed.head.version };
    },

    async delete(agent, key, expectedVersion) {
      assertValidNamespaceId('agent', agent);
      assertValidUserKey(key);
      if (expectedVersion !== undefined) assertWholeNumber('expected_version', expectedVersion, 1);
      const waitForIntent = rollForward.createWaiter();
      const outcome = await retryOnConflict(
        `delete of ${keys.head(key)}`,
        async (): Promise<SharedHeadEntry | { conflict: number } | typeof RETRY> => {
          const current = await readSharedHead(store, key);
          if (current === undefined || !isLiveShared(current.head)) {
            if (current !== undefined) await rollForward.settleIfAbandoned(current);
            throw sharedKeyNotFound(key);
          }
          // Answered rather than thrown, as in `commitSet`: retryOnConflict would retry it.
          if (expectedVersion !== undefined && current.head.version !== expectedVersion) {
            return { conflict: current.head.version };
          }
          if (current.head.pending !== undefined) {
            await waitForIntent(current);
            return RETRY;
          }
          const tombstone: SharedHead = {
            key,
            value: null,
            version: current.head.version,
            owner_agent: agent,
            updated_at: now().toISOString(),
            size_bytes: 0,
            deleted: true,
            pending: { usage_delta: -current.head.size_bytes, id: randomUUID() },
          };
          return { head: tombstone, etag: await kv.save(keys.head(key), tombstone, { etag: current.etag }) };
        },
      );
      if ('conflict' in outcome) throw sharedVersionConflict(key, expectedVersion ?? 0, outcome.conflict);
      await rollForward.settle(outcome);
      // A creator may commit between our tombstone and this removal, and may already
      // have checked that the key is indexed. So after removing, read the head: if it is
      // live again, put the key back. Either the removal came before the creator's check
      // (which then re-adds the key) or after it, and so after its commit, which this
      // read then sees. Only a crash right between removal and re-add can leave a live
      // key unindexed; its next delete and re-create brings it back.
      await index.remove(key);
      const after = await readSharedHead(store, key);
      if (after !== undefined && isLiveShared(after.head)) await index.add(key);
      return { deleted: true };
    },

    async list({ prefix = '', limit = MAX_PAGE_LIMIT, cursor } = {}) {
      assertValidKeyPrefix(prefix);
      assertWholeNumber('limit', limit, 1, MAX_PAGE_LIMIT);
      if (cursor !== undefined) assertValidUserKey(cursor, 'cursor');
      const page = await listLiveSharedHeads({ store, index, rollForward }, { prefix, limit, after: cursor });
      const entries = page.records.map(({ key, version, size_bytes, owner_agent, updated_at }) => ({
        key,
        version,
        size_bytes,
        owner_agent,
        updated_at,
      }));
      return {
        entries,
        count: entries.length,
        total_size_bytes: entries.reduce((sum, entry) => sum + entry.size_bytes, 0),
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      };
    },

    async usage() {
      return { bytes: (await usage.read()).bytes };
    },
  };
}
