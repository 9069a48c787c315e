import { jsonByteLength, type Json } from '../json.ts';
import { retryOnConflict, RETRY } from '../state/cas-retry.ts';
import { parseInput } from '../parse-input.ts';
import { listLive } from '../state/live-listing.ts';
import { assertAtMost } from './session-input.ts';
import type { SessionHandle } from './session-record.ts';
import type { SessionMeta, ValueRecord } from './session-records.ts';
import {
  MAX_PAGE_LIMIT,
  sessionDeleteInputSchema,
  sessionGetInputSchema,
  sessionListInputSchema,
  sessionSetInputSchema,
  type SessionClearResult,
  type SessionDeleteResult,
  type SessionGetResult,
  type SessionListInput,
  type SessionListResult,
  type SessionSetResult,
} from './session-schemas.ts';
import { intentFor } from '../state/usage-counter.ts';
import { isLive, openValueSpace, type ValueSpace } from './value-space.ts';

/**
 * The key-values of one session: the `state.session.*` capabilities. Every call first
 * checks that the session is live (`SessionNotFound` otherwise) and counts as activity.
 * Bad arguments are `InvalidInput` or `PayloadTooLarge` and write nothing.
 */
export interface SessionState {
  /** The value of `key`, or `{ value: null, found: false }`. */
  get(key: string): Promise<SessionGetResult>;
  /** Writes `value` under `key`; `QuotaExceeded` (writing nothing) if it would pass the session's quota. */
  set(key: string, value: Json): Promise<SessionSetResult>;
  /** Removes `key`; removing an absent key answers `deleted: false`. */
  delete(key: string): Promise<SessionDeleteResult>;
  /** Live keys starting with `prefix`, sorted, one page at a time. */
  list(options?: SessionListInput): Promise<SessionListResult>;
  /** Removes every key at once; answers how many there were. */
  clear(): Promise<SessionClearResult>;
}

export interface SessionStateOptions {
  /** Opens the session's handle; throws `SessionNotFound` for an id that names no session. */
  readonly session: () => SessionHandle;
  readonly quotaBytes: number;
  /** The largest record the store accepts. */
  readonly maxRecordBytes: number;
}

/**
 * Session state over a `KvStore` with nothing but single-key compare-and-swap
 * (see `ports/kv-store.ts`). Each change has one commit point:
 * - `set` and `delete`: a CAS on the key's value record (a tombstone for a delete). The
 *   quota counter learns of the size change through an intent on the record
 *   (`usage-counter.ts`) that the writer or the record's next reader applies. The index
 *   learns of a new key before its record commits and forgets a deleted one after, so a
 *   crash leaves at worst an index entry without a live record, which listing skips.
 * - `clear`: a CAS on the session record moving it to a new generation of key-values,
 *   which starts empty; every key disappears at that instant. The old generation's
 *   records are then deleted, and if a crash stops that, they expire with the session.
 * Every record is saved with a TTL ending at the session's hard expiry, so nothing
 * outlives it, and session ids are random, so a new session never meets old records.
 */
export function createSessionState({
  session,
  quotaBytes,
  maxRecordBytes,
}: SessionStateOptions): SessionState {
  function valuesOf(handle: SessionHandle, meta: SessionMeta): ValueSpace {
    return openValueSpace(handle.dataStore(meta), handle.keys.values(meta.kv_generation), quotaBytes);
  }

  /** The live session's current generation of key-values, the call recorded as activity. */
  async function liveValues(): Promise<ValueSpace> {
    const handle = session();
    return valuesOf(handle, (await handle.touch()).meta);
  }

  /** Commits the new value of `key`: the commit point of `set`. */
  function commitSet(values: ValueSpace, key: string, value: Json, size: number) {
    return retryOnConflict(`set of ${values.keys.value(key)}`, async () => {
      const current = await values.read(key);
      if (current?.record.pending !== undefined) {
        await values.settle(current);
        return RETRY;
      }
      const previous = current !== undefined && isLive(current.record) ? current.record : undefined;
      const delta = size - (previous?.size_bytes ?? 0);
      const record: ValueRecord = { key, value, size_bytes: size, ...intentFor(delta) };
      await values.usage.assertRoomFor(delta);
      if (previous === undefined) await values.index.add(key);
      const etag = await values.kv.save(
        values.keys.value(key),
        record,
        current === undefined ? { ifAbsent: true } : { etag: current.etag },
      );
      return { entry: { record, etag }, previous };
    });
  }

  /** Commits the tombstone of `key`: the commit point of `delete`. */
  function commitDelete(values: ValueSpace, key: string) {
    return retryOnConflict(`delete of ${values.keys.value(key)}`, async () => {
      const current = await values.read(key);
      if (current?.record.pending !== undefined) {
        await values.settle(current);
        return RETRY;
      }
      if (current === undefined || !isLive(current.record)) return undefined;
      const tombstone: ValueRecord = {
        key,
        value: null,
        size_bytes: 0,
        deleted: true,
        ...intentFor(-current.record.size_bytes),
      };
      const etag = await values.kv.save(values.keys.value(key), tombstone, { etag: current.etag });
      return { entry: { record: tombstone, etag }, previous: current.record.value };
    });
  }

  /** Throws `PayloadTooLarge` unless the value record of `value` fits the store. */
  function assertRecordFits(key: string, size: number): void {
    // The largest record a set writes, without re-encoding the value: 4 bytes stand for `null`.
    const envelope: ValueRecord = { key, value: null, size_bytes: size, ...intentFor(-size) };
    const limit = maxRecordBytes - (jsonByteLength(envelope) - 4);
    assertAtMost(`value of ${JSON.stringify(key.slice(0, 80))}`, size, limit);
  }

  return {
    async get(key) {
      parseInput(sessionGetInputSchema, { key }, 'state.session.get input');
      const values = await liveValues();
      const current = await values.read(key);
      // Settling leaves the value as it is, so the answer can come from what was read.
      if (current !== undefined) await values.settle(current);
      return current !== undefined && isLive(current.record)
        ? { value: current.record.value, found: true }
        : { value: null, found: false };
    },

    async set(key, value) {
      parseInput(sessionSetInputSchema, { key, value }, 'state.session.set input');
      const size = jsonByteLength(value);
      assertRecordFits(key, size);
      const values = await liveValues();
      const { entry, previous } = await commitSet(values, key, value, size);
      await values.settle(entry);
      // Closes the race with a concurrent delete of the same key (see `delete`): a
      // creator checks the index after its commit, a deleter the record after its removal.
      if (previous === undefined && !(await values.index.has(key))) await values.index.add(key);
      return { previous_value: previous?.value ?? null, overwritten: previous !== undefined };
    },

    async delete(key) {
      parseInput(sessionDeleteInputSchema, { key }, 'state.session.delete input');
      const values = await liveValues();
      const committed = await commitDelete(values, key);
      if (committed === undefined) return { previous_value: null, deleted: false };
      await values.settle(committed.entry);
      // A creator may commit between our tombstone and this removal, and may already have
      // checked that the key is indexed. So after removing, read the record: if it is live
      // again, put the key back. Either the removal came before the creator's check (which
      // then re-adds the key) or after it, and so after its commit, which this read sees.
      // Only a crash right between removal and re-add can leave a live key unindexed; the
      // key's next delete and re-create brings it back.
      await values.index.remove(key);
      const after = await values.read(key);
      if (after !== undefined && isLive(after.record)) await values.index.add(key);
      return { previous_value: committed.previous, deleted: true };
    },

    async list(options = {}) {
      const input = parseInput(sessionListInputSchema, options, 'state.session.list input');
      const { prefix = '', limit = MAX_PAGE_LIMIT, cursor } = input;
      const values = await liveValues();
      const page = await listLive(values.index, { prefix, limit, after: cursor }, async (pageKeys) => {
        const records = await values.readMany(pageKeys);
        const live: string[] = [];
        for (const key of pageKeys) {
          const entry = records.get(key);
          if (entry === undefined) continue;
          await values.settle(entry);
          if (isLive(entry.record)) live.push(key);
        }
        return live;
      });
      const { records: keys } = page;
      return page.cursor === undefined
        ? { keys, count: keys.length }
        : { keys, count: keys.length, cursor: page.cursor };
    },

    async clear() {
      const handle = session();
      const cleared = await retryOnConflict(`clear of ${handle.keys.meta}`, async () => {
        const entry = await handle.read();
        await handle.commit(entry, { kv_generation: entry.meta.kv_generation + 1 });
        return entry.meta;
      });
      return { removed_count: await valuesOf(handle, cleared).purge() };
    },
  };
}
