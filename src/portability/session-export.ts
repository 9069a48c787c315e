import { AppError } from '../core/errors.ts';
import { canAccessAgentScope } from '../core/identity/authorize.ts';
import type { Caller } from '../core/identity/caller.ts';
import { sessionNotFound } from '../core/sessions/session-errors.ts';
import type { SessionAccess } from '../core/sessions/session-record.ts';
import type { Sessions } from '../core/sessions/sessions.ts';
import { withChecksum } from './checksum.ts';
import { readSessionContent } from './session-reader.ts';
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
  const { agent, sessionId, tags = {}, environment, now = new Date() } = request;
  const tenant = caller.tenant;
  const access = agentSessionAccess(caller, agent, sessionId, 'read');
  const { info, messages, events } = await readSessionContent(sessions, tenant, sessionId, access);
  return withChecksum({
    schema_version: SESSION_SNAPSHOT_VERSION,
    tenant_id: tenant,
    agent_id: agent,
    session_id: sessionId,
    status: info.status,
    created_at: info.created_at,
    messages,
    events,
    event_log_count: events.length,
    tags: { ...tags },
    source_environment: environment,
    exported_at: now.toISOString(),
  });
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
