import { isAppError } from '../core/errors.ts';
import { canOperate } from '../core/identity/authorize.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { Sessions } from '../core/sessions/sessions.ts';
import type { PersistentState } from '../core/state/persistent-state.ts';
import { streamWithChecksum } from './checksum.ts';
import { readLiveSessionContent } from './session-reader.ts';
import {
  SUBJECT_FORMAT_VERSION,
  type ExportedKey,
  type ExportedSession,
  type ExportedVersion,
} from './subject-document.ts';

export interface SubjectExportRequest {
  readonly subject: string;
  readonly tenant: string;
  readonly environment: string;
  /** @default new Date() */
  readonly now?: Date;
}

export interface SubjectSources {
  readonly persistent: (tenant: string, agent: string) => PersistentState;
  readonly sessions: Sessions;
}

/**
 * The export of `subject` of `tenant`, for an operator of that tenant (`Forbidden`
 * otherwise, before anything is read), as JSON text produced as it is read: every live
 * persistent key with its retained history, in key order, a listing page at a time, and
 * every live session of the subject (from its session index, `agent-sessions.ts`),
 * newest first, one at a time with its messages and events. Memory holds a page of keys
 * or one session, never the document. An ended session has no messages left to export:
 * ending a session deletes them.
 */
export async function exportSubject(
  sources: SubjectSources,
  caller: Caller,
  request: SubjectExportRequest,
): Promise<AsyncIterable<string>> {
  const { subject, tenant, environment, now = new Date() } = request;
  canOperate(caller, tenant);
  return streamWithChecksum({
    format_version: SUBJECT_FORMAT_VERSION,
    subject_id: subject,
    tenant_id: tenant,
    exported_at: now.toISOString(),
    provenance: { exporter: 'agentstate', exported_by: caller.principal, source_environment: environment },
    persistent: keyPages(sources.persistent(tenant, subject)),
    sessions: liveSessions(sources.sessions, tenant, subject),
  });
}

/** The live keys with their histories, a listing page at a time. */
async function* keyPages(state: PersistentState): AsyncGenerator<ExportedKey[]> {
  for (let cursor: string | undefined; ;) {
    const page = await state.list(cursor === undefined ? {} : { cursor });
    const keys: ExportedKey[] = [];
    for (const { key } of page.entries) {
      const versions = await retainedHistory(state, key);
      // Deleted between the listing and the read: it is not part of the subject any more.
      if (versions.length > 0) keys.push({ key, versions });
    }
    yield keys;
    if (page.cursor === undefined) return;
    cursor = page.cursor;
  }
}

/** The live sessions of `agent` with their logs, newest first, one at a time; one ending meanwhile is left out. */
async function* liveSessions(
  sessions: Sessions,
  tenant: string,
  agent: string,
): AsyncGenerator<ExportedSession[]> {
  for (let cursor: string | undefined; ;) {
    const page = await sessions.listOfAgent(tenant, agent, cursor === undefined ? {} : { cursor });
    for (const { session_id } of page.sessions) {
      const content = await readLiveSessionContent(sessions, tenant, session_id);
      if (content === undefined) continue;
      const { info, messages, events } = content;
      yield [{ session_id, created_at: info.created_at, messages, events }];
    }
    if (page.cursor === undefined) return;
    cursor = page.cursor;
  }
}

/** The retained versions of a live key, oldest first; none if the key is not live. */
export async function retainedHistory(state: PersistentState, key: string): Promise<ExportedVersion[]> {
  try {
    return (await state.history(key)).versions.reverse();
  } catch (error) {
    if (isAppError(error, 'KeyNotFound')) return [];
    throw error;
  }
}
