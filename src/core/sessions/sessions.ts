import { z } from 'zod';
import type { KvStore } from '../../ports/kv-store.ts';
import { MAX_TTL_SECONDS } from '../../ports/limits.ts';
import { parseInput } from '../parse-input.ts';
import { agentSessions, type AgentSessionPage } from './agent-sessions.ts';
import { expiresAt } from './session-lifetime.ts';
import { createSessionLogs, EVENTS, MESSAGES } from './session-logs.ts';
import {
  createSessionRecord,
  sessionHandle,
  type SessionAccess,
  type SessionContext,
} from './session-record.ts';
import type { SessionMeta } from './session-records.ts';
import {
  openSessionInputSchema,
  type AppendEventInput,
  type AppendMessageInput,
  type EndSessionResult,
  type EventPage,
  type LogPageInput,
  type Message,
  type MessagePage,
  type OpenSessionInput,
  type SessionEvent,
  type SessionInfo,
} from './session-schemas.ts';
import { createSessionState, type SessionState } from './session-state.ts';
import { deleteMany } from './store-batches.ts';
import { openValueSpace } from './value-space.ts';

export interface SessionsOptions {
  /** Seconds without a call after which a session ends (see `session-lifetime.ts`). @default 1800 */
  readonly idleTimeoutSeconds?: number;
  /** Seconds after opening at which a session ends, however active. @default 86400 (24 h) */
  readonly maxLifetimeSeconds?: number;
  /** Bytes of JSON values one session's state may hold. @default 50 MiB */
  readonly quotaBytes?: number;
  /** The clock of every timestamp and expiry. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Sessions of agents: a lifecycle, key-value state (`state.session.*`), an append-only
 * message history and an immutable event log, all in the store so that any worker can
 * serve any call and a restart loses nothing.
 *
 * Every call names the session by tenant and id; an id that is unknown, malformed, ended
 * or expired is `SessionNotFound` (recovery `reconnect`), and every call on a live session
 * counts as activity. The caller's right to the session (its `agent`) is checked by the
 * surface, which can read it with `get`.
 */
export interface Sessions {
  /** Opens a session for `agent` of `tenant`; `InvalidInput` for ids that are not `idSchema`. */
  open(input: OpenSessionInput): Promise<SessionInfo>;
  // Each call below takes an optional `access` check (see `SessionAccess`), run on the
  // session record before the call writes anything.
  /** The live session. */
  get(tenant: string, sessionId: string, access?: SessionAccess): Promise<SessionInfo>;
  /**
   * Ends the session: from then on it is `SessionNotFound`. Its key-values and logs are
   * then deleted; what a crash leaves of them expires at the session's hard expiry.
   */
  end(tenant: string, sessionId: string, access?: SessionAccess): Promise<EndSessionResult>;
  /** The session's key-values; nothing is read until a method is called. */
  state(tenant: string, sessionId: string, access?: SessionAccess): SessionState;
  appendMessage(
    tenant: string,
    sessionId: string,
    input: AppendMessageInput,
    access?: SessionAccess,
  ): Promise<Message>;
  listMessages(
    tenant: string,
    sessionId: string,
    page?: LogPageInput,
    access?: SessionAccess,
  ): Promise<MessagePage>;
  appendEvent(
    tenant: string,
    sessionId: string,
    input: AppendEventInput,
    access?: SessionAccess,
  ): Promise<SessionEvent>;
  listEvents(
    tenant: string,
    sessionId: string,
    page?: LogPageInput,
    access?: SessionAccess,
  ): Promise<EventPage>;
  /** The live sessions of `agent`, newest first (`agent-sessions.ts`); the caller authorizes. */
  listOfAgent(
    tenant: string,
    agent: string,
    page?: { cursor?: string; limit?: number },
  ): Promise<AgentSessionPage>;
}

const seconds = z.number().int().min(1).max(MAX_TTL_SECONDS);
const settingsSchema = z.object({
  idleTimeoutSeconds: seconds,
  maxLifetimeSeconds: seconds,
  quotaBytes: z.number().int().nonnegative(),
});

export function createSessions(kv: KvStore, options: SessionsOptions = {}): Sessions {
  const settings = parseInput(
    settingsSchema,
    {
      idleTimeoutSeconds: options.idleTimeoutSeconds ?? 1800,
      maxLifetimeSeconds: options.maxLifetimeSeconds ?? 86_400,
      quotaBytes: options.quotaBytes ?? 50 * 1024 * 1024,
    },
    'sessions options',
  );
  const ctx: SessionContext = { kv, now: options.now ?? (() => new Date()) };
  const withAccess = (access: SessionAccess | undefined): SessionContext =>
    access === undefined ? ctx : { ...ctx, access };
  const handle = (tenant: string, sessionId: string, access: SessionAccess | undefined) => () =>
    sessionHandle(withAccess(access), tenant, sessionId);
  const logs = (tenant: string, sessionId: string, access: SessionAccess | undefined) =>
    createSessionLogs(handle(tenant, sessionId, access), ctx.now);

  return {
    async open(input) {
      const { tenant, agent } = parseInput(openSessionInputSchema, input, 'session');
      return infoOf(await createSessionRecord(ctx, { tenant, agent, ...settings }));
    },

    async get(tenant, sessionId, access) {
      return infoOf((await sessionHandle(withAccess(access), tenant, sessionId).touch()).meta);
    },

    async end(tenant, sessionId, access) {
      const session = sessionHandle(withAccess(access), tenant, sessionId);
      const meta = await session.end();
      const store = session.dataStore(() => meta);
      const values = openValueSpace(
        store,
        session.keys.values(meta.kv_generation),
        settings.quotaBytes,
        session.runtime,
      );
      const removed = await values.purge();
      await deleteMany(store, [
        ...sequence(meta.message_count).map((seq) => MESSAGES.key(session.keys, seq)),
        ...sequence(meta.event_count).map((seq) => EVENTS.key(session.keys, seq)),
      ]);
      return { ended: true, removed_keys: removed };
    },

    state: (tenant, sessionId, access) =>
      createSessionState({
        session: handle(tenant, sessionId, access),
        quotaBytes: settings.quotaBytes,
        maxRecordBytes: kv.limits.maxValueBytes,
      }),

    appendMessage: (tenant, sessionId, input, access) => logs(tenant, sessionId, access).appendMessage(input),
    listMessages: (tenant, sessionId, page, access) => logs(tenant, sessionId, access).listMessages(page),
    appendEvent: (tenant, sessionId, input, access) => logs(tenant, sessionId, access).appendEvent(input),
    listEvents: (tenant, sessionId, page, access) => logs(tenant, sessionId, access).listEvents(page),
    listOfAgent: (tenant, agent, page) => agentSessions(kv, tenant, agent, ctx.now).list(page),
  };
}

function infoOf(meta: SessionMeta): SessionInfo {
  return {
    session_id: meta.session_id,
    agent: meta.agent,
    status: 'active',
    created_at: meta.created_at,
    last_active_at: meta.last_active_at,
    idle_timeout_seconds: meta.idle_timeout_seconds,
    expires_at: new Date(expiresAt(meta)).toISOString(),
    hard_expires_at: meta.hard_expires_at,
    message_count: meta.message_count,
    event_count: meta.event_count,
  };
}

/** 1..count. */
function sequence(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}
