import { AppError } from '../core/errors.ts';
import { canAccessAgentScope } from '../core/identity/authorize.ts';
import type { Caller } from '../core/identity/caller.ts';
import { sessionNotFound } from '../core/sessions/session-errors.ts';
import type { SessionAccess } from '../core/sessions/session-record.ts';
import type { SessionInfo } from '../core/sessions/session-schemas.ts';
import type { Sessions } from '../core/sessions/sessions.ts';
import { streamWithChecksum, withChecksum } from './checksum.ts';
import { readSessionContent, sessionLogPages } from './session-reader.ts';
import { SESSION_SNAPSHOT_VERSION, type SessionSnapshot } from './session-snapshot.ts';

export interface SessionExportRequest {
  readonly agent: string;
  readonly sessionId: string;
  /** @default {} */
  readonly tags?: Readonly<Record<string, string>>;
  /** `source_environment`. */
  readonly environment: string;
  /** @default new Date() */
  readonly now?: Date;
}

/**
 * The snapshot of live session `sessionId` of `agent` in the caller's tenant, which
 * the caller must be allowed to read. A session of another agent is `SessionNotFound`,
 * as if it did not exist, so an id reveals nothing across agents.
 */
export async function exportSessionSnapshot(
  sessions: Sessions,
  caller: Caller,
  request: SessionExportRequest,
): Promise<SessionSnapshot> {
  const { agent, sessionId } = request;
  const access = agentSessionAccess(caller, agent, sessionId, 'read');
  const { info, messages, events } = await readSessionContent(sessions, caller.tenant, sessionId, access);
  return withChecksum({ ...snapshotFields(caller, request, info), messages, events });
}

/**
 * The same snapshot as `exportSessionSnapshot`, as text produced a page of messages or
 * events at a time, so that a session of any length is exported in bounded memory. The
 * session is read (and the caller authorized) before this answers, so a refusal or an
 * unknown session is an error, not a stream; a failure while streaming cuts the text
 * short.
 */
export async function streamSessionSnapshot(
  sessions: Sessions,
  caller: Caller,
  request: SessionExportRequest,
): Promise<AsyncIterable<string>> {
  const { agent, sessionId } = request;
  const access = agentSessionAccess(caller, agent, sessionId, 'read');
  const info = await sessions.get(caller.tenant, sessionId, access);
  const pages = sessionLogPages(sessions, caller.tenant, info, access);
  return streamWithChecksum({ ...snapshotFields(caller, request, info), ...pages });
}

/** Every field of a snapshot but its logs and checksum. */
function snapshotFields(caller: Caller, request: SessionExportRequest, info: SessionInfo) {
  const { agent, sessionId, tags = {}, environment, now = new Date() } = request;
  return {
    schema_version: SESSION_SNAPSHOT_VERSION,
    tenant_id: caller.tenant,
    agent_id: agent,
    session_id: sessionId,
    status: info.status,
    created_at: info.created_at,
    event_log_count: info.event_count,
    tags: { ...tags },
    source_environment: environment,
    exported_at: now.toISOString(),
  };
}

/** Allows `caller` to `mode` a session only if it is one of `agent`'s. */
export function agentSessionAccess(
  caller: Caller,
  agent: string,
  sessionId: string,
  mode: 'read' | 'write',
): SessionAccess {
  return (session) => {
    canAccessAgentScope(caller, caller.tenant, session.agent, mode);
    if (session.agent !== agent) throw sessionNotFound(sessionId);
  };
}

/** The id of `agent`'s newest live session; `SessionNotFound` if it has none. */
export async function latestSessionId(sessions: Sessions, tenant: string, agent: string): Promise<string> {
  for (let cursor: string | undefined; ;) {
    const page = await sessions.listOfAgent(tenant, agent, {
      limit: 10,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const newest = page.sessions[0];
    if (newest !== undefined) return newest.session_id;
    if (page.cursor === undefined) break;
    cursor = page.cursor;
  }
  throw new AppError('SessionNotFound', `agent ${agent} has no live session`);
}
