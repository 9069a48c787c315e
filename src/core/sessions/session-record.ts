import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import type { Prefetched } from '../engine/versioned-records.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import { agentSessions } from './agent-sessions.ts';
import { sessionNotFound } from './session-errors.ts';
import { sessionKeys, type SessionKeys } from './session-keys.ts';
import { dataTtlSeconds, isExpired, recordTtlSeconds, refreshDue } from './session-lifetime.ts';
import { sessionMetaSchema, type SessionMeta } from './session-records.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { sessionIdSchema } from './session-schemas.ts';
import { withTtl } from './ttl-kv-store.ts';
import { engineRuntimeOf, type EngineRuntime } from '../engine/engine-runtime.ts';

/** What every session operation runs on. */
export interface SessionContext {
  readonly kv: KvStore;
  readonly now: () => Date;
  /** Runs on every read of a live session record, before anything is written; throws to refuse. */
  readonly access?: SessionAccess;
}

/**
 * Decides whether the caller may reach a session, knowing whose it is (`Forbidden`
 * otherwise). The surface passes one with every call, so that the check rides on the
 * session read the call makes anyway.
 */
export type SessionAccess = (session: { readonly agent: string }) => void;

/** The session record as read, with the ETag that a compare-and-swap on it must carry. */
export interface MetaEntry {
  readonly meta: SessionMeta;
  readonly etag: string;
}

export interface TouchedEntry extends MetaEntry {
  /** What was read alongside the session record. */
  readonly alongside: Prefetched;
}

/** The fields of the session record that operations change, besides its activity. */
export type MetaChange = Partial<Pick<SessionMeta, 'message_count' | 'event_count' | 'kv_generation'>>;

/** One session's record: its liveness, activity and lifecycle. */
export interface SessionHandle {
  readonly keys: SessionKeys;
  /**
   * The live session record. `SessionNotFound` if it does not exist, was ended, or has
   * passed its idle or hard expiry (even if the store has not removed it yet).
   */
  read(): Promise<MetaEntry>;
  /**
   * Like `read`, and records the call as activity when a refresh is due
   * (`session-lifetime.ts`). `alongside` are store keys read in the same request, for a
   * call that needs them next (answered in `entries`).
   */
  touch(alongside?: readonly string[]): Promise<TouchedEntry>;
  /**
   * Saves `change` on the record read as `entry`, with `last_active_at` now and a new
   * TTL: one compare-and-swap, `VersionConflict` if the record changed since.
   */
  commit(entry: MetaEntry, change: MetaChange): Promise<MetaEntry>;
  /** Ends the live session (the commit point of `end`) and answers its last record. */
  end(): Promise<SessionMeta>;
  /** The store with every save expiring at the hard expiry of the session `meta` answers. */
  dataStore(meta: () => SessionMeta): KvStore;
  /** The engine runtime of the store this worker shares across sessions (`engine-runtime.ts`). */
  readonly runtime: EngineRuntime;
}

export interface NewSession {
  readonly tenant: string;
  readonly agent: string;
  readonly idleTimeoutSeconds: number;
  readonly maxLifetimeSeconds: number;
}

/** Creates the record of a new session with a random id; answers it. */
export async function createSessionRecord(ctx: SessionContext, session: NewSession): Promise<SessionMeta> {
  const at = ctx.now();
  const meta: SessionMeta = {
    session_id: randomUUID(),
    tenant: session.tenant,
    agent: session.agent,
    status: 'active',
    created_at: at.toISOString(),
    last_active_at: at.toISOString(),
    idle_timeout_seconds: session.idleTimeoutSeconds,
    hard_expires_at: new Date(at.getTime() + session.maxLifetimeSeconds * 1000).toISOString(),
    message_count: 0,
    event_count: 0,
    kv_generation: 0,
  };
  // Listed before it exists, so that every live session is in its agent's index.
  await agentSessions(ctx.kv, meta.tenant, meta.agent, ctx.now).add(meta);
  // Create-if-absent, so that not even a UUID collision could overwrite another session.
  await ctx.kv.save(sessionKeys(meta.tenant, meta.session_id).meta, meta, {
    ifAbsent: true,
    ttlSeconds: recordTtlSeconds(meta, at),
  });
  return meta;
}

/**
 * The handle of session `sessionId` of `tenant`. A session id that is not a UUID names no
 * session: `SessionNotFound`, not `InvalidInput`, as for any other unknown id.
 */
export function sessionHandle(ctx: SessionContext, tenant: string, sessionId: string): SessionHandle {
  const { kv, now } = ctx;
  if (!sessionIdSchema.safeParse(sessionId).success) throw sessionNotFound(sessionId);
  const keys = sessionKeys(tenant, sessionId);

  async function read(): Promise<MetaEntry> {
    return decodeMeta(await kv.get(keys.meta));
  }

  async function readAlongside(alongside: readonly string[]): Promise<TouchedEntry> {
    if (alongside.length === 0) return { ...(await read()), alongside: { keys: [], entries: new Map() } };
    const entries = await kv.getBulk([keys.meta, ...alongside]);
    return { ...decodeMeta(entries.get(keys.meta)), alongside: { keys: alongside, entries } };
  }

  function decodeMeta(entry: KvEntry | undefined): MetaEntry {
    if (entry === undefined) throw sessionNotFound(sessionId);
    const meta = decodeRecord(sessionMetaSchema, entry, keys.meta);
    if (meta.session_id !== sessionId || meta.tenant !== tenant)
      throw new AppError('DatabaseError', `store record ${keys.meta} holds another session`);
    if (meta.status !== 'active' || isExpired(meta, now())) throw sessionNotFound(sessionId);
    ctx.access?.(meta);
    return { meta, etag: entry.etag };
  }

  async function commit(entry: MetaEntry, change: MetaChange): Promise<MetaEntry> {
    const at = now();
    const meta: SessionMeta = { ...entry.meta, ...change, last_active_at: at.toISOString() };
    const etag = await kv.save(keys.meta, meta, { etag: entry.etag, ttlSeconds: recordTtlSeconds(meta, at) });
    return { meta, etag };
  }

  return {
    keys,
    read,
    commit,

    touch: (alongside = []) =>
      retryOnConflict(`refresh of ${keys.meta}`, async () => {
        const entry = await readAlongside(alongside);
        return refreshDue(entry.meta, now())
          ? { ...(await commit(entry, {})), alongside: entry.alongside }
          : entry;
      }),

    end: () =>
      retryOnConflict(`end of ${keys.meta}`, async () => {
        const { meta, etag } = await read();
        // A tombstone until the hard expiry, not a delete: see `sessionMetaSchema`.
        const ended: SessionMeta = { ...meta, status: 'ended' };
        await kv.save(keys.meta, ended, { etag, ttlSeconds: dataTtlSeconds(meta, now()) });
        return meta;
      }),

    dataStore: (meta) => withTtl(kv, () => dataTtlSeconds(meta(), now())),
    runtime: engineRuntimeOf(kv),
  };
}
