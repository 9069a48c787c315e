import { isLive } from '../engine/head-record.ts';
import type { Prefetched, VersionedRecords } from '../engine/versioned-records.ts';
import { AppError } from '../errors.ts';
import { jsonByteLength, type Json } from '../json.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import { parseInput } from '../parse-input.ts';
import { assertAtMost } from './session-input.ts';
import type { SessionHandle } from './session-record.ts';
import type { SessionMeta } from './session-records.ts';
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
import { openValueSpace, type ValueSpace } from './value-space.ts';

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

interface LiveRecords {
  readonly records: VersionedRecords;
  /** Absent when the generation was not the one guessed. */
  readonly prefetched?: Prefetched;
}

export interface SessionStateOptions {
  /** Opens the session's handle; throws `SessionNotFound` for an id that names no session. */
  readonly session: () => SessionHandle;
  readonly quotaBytes: number;
  /** The largest record the store accepts. */
  readonly maxRecordBytes: number;
}

/**
 * Session state: a policy over the versioned-record engine (`engine/versioned-records.ts`)
 * with no history, one namespace per generation of key-values. A set or delete commits
 * with one CAS on the key's head, its size change applied to the usage shards after the
 * answer, and a delete's index entry collected after it.
 * `clear` is a CAS on the session record moving it to a new generation, which starts
 * empty: every key disappears at that instant. The old generation's heads are then
 * deleted, and if a crash stops that, they expire with the session. Every record is
 * saved with a TTL ending at the session's hard expiry, so nothing outlives it, and
 * session ids are random, so a new session never meets old records.
 */
export function createSessionState({
  session,
  quotaBytes,
  maxRecordBytes,
}: SessionStateOptions): SessionState {
  function valuesOf(handle: SessionHandle, generation: number, meta: () => SessionMeta): ValueSpace {
    return openValueSpace(handle.dataStore(meta), handle.keys.values(generation), quotaBytes, handle.runtime);
  }

  /**
   * The live session's current generation of key-values, the call recorded as activity,
   * and what a call on `key` reads first, fetched in the same request as the session
   * record. The generation is the one this worker saw last (`clear` moves it on); only
   * after a `clear` by another worker is the head read again.
   */
  async function live(key: string, purpose: 'read' | 'write'): Promise<LiveRecords> {
    const handle = session();
    const seen = generationSeen(handle);
    // The records are opened before the session record is read, which they need only
    // to write (for its expiry), so that they can say what to read alongside it.
    const read: { meta?: SessionMeta } = {};
    const metaRead = (): SessionMeta => {
      if (read.meta === undefined) throw new Error(`session ${handle.keys.meta} written before it was read`);
      return read.meta;
    };
    const guessed = valuesOf(handle, seen.generation, metaRead).records;
    const touched = await handle.touch(guessed.readKeys(key, purpose));
    const meta = (read.meta = touched.meta);
    if (meta.kv_generation === seen.generation) return { records: guessed, prefetched: touched.alongside };
    seen.generation = meta.kv_generation;
    return { records: valuesOf(handle, meta.kv_generation, metaRead).records };
  }

  function generationSeen(handle: SessionHandle): { generation: number } {
    return handle.runtime.singleton('session-generation', handle.keys.meta, () => ({ generation: 0 }));
  }

  /** Like `live`, for calls that read no single key first. */
  async function liveRecords(): Promise<VersionedRecords> {
    const handle = session();
    const { meta } = await handle.touch();
    return valuesOf(handle, meta.kv_generation, () => meta).records;
  }

  return {
    async get(key) {
      parseInput(sessionGetInputSchema, { key }, 'state.session.get input');
      const { records, prefetched } = await live(key, 'read');
      const current = await records.read(key, prefetched);
      return current !== undefined && isLive(current.head)
        ? { value: current.head.value, found: true }
        : { value: null, found: false };
    },

    async set(key, value) {
      parseInput(sessionSetInputSchema, { key, value }, 'state.session.set input');
      assertAtMost(`value of ${JSON.stringify(key.slice(0, 80))}`, jsonByteLength(value), maxRecordBytes);
      const { records, prefetched } = await live(key, 'write');
      const outcome = await records.write(key, value, { prefetched });
      // Without an expected version a write always commits.
      if (!outcome.committed)
        throw new AppError('DatabaseError', `set of ${JSON.stringify(key)} did not commit`);
      const { previous } = outcome;
      return { previous_value: previous?.value ?? null, overwritten: previous !== undefined };
    },

    async delete(key) {
      parseInput(sessionDeleteInputSchema, { key }, 'state.session.delete input');
      const { records, prefetched } = await live(key, 'read');
      const outcome = await records.remove(key, { prefetched });
      return outcome.removed
        ? { previous_value: outcome.previous.value, deleted: true }
        : { previous_value: null, deleted: false };
    },

    async list(options = {}) {
      const input = parseInput(sessionListInputSchema, options, 'state.session.list input');
      const { prefix = '', limit = MAX_PAGE_LIMIT, cursor } = input;
      const page = await (await liveRecords()).list({ prefix, limit, after: cursor });
      const keys = page.heads.map((head) => head.key);
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
      generationSeen(handle).generation = cleared.kv_generation + 1;
      return { removed_count: await valuesOf(handle, cleared.kv_generation, () => cleared).purge() };
    },
  };
}
