import { AppError, isAppError } from '../core/errors.ts';
import type { SessionAccess } from '../core/sessions/session-record.ts';
import type { Message, SessionEvent, SessionInfo } from '../core/sessions/session-schemas.ts';
import type { Sessions } from '../core/sessions/sessions.ts';

/** A live session with its whole message history and event log. */
export interface SessionContent {
  readonly info: SessionInfo;
  readonly messages: Message[];
  readonly events: SessionEvent[];
}

const PAGE = 1000;

/**
 * Session `sessionId` of `tenant` as it is now: the messages and events up to the
 * counts its record held when read, so appends racing the read are not half included.
 * `SessionNotFound` if it is not live; `access` runs on the session record, as for any
 * session call.
 */
export async function readSessionContent(
  sessions: Sessions,
  tenant: string,
  sessionId: string,
  access?: SessionAccess,
): Promise<SessionContent> {
  const info = await sessions.get(tenant, sessionId, access);
  const messages = await readLog<Message>(info.message_count, async (after) => {
    return (await sessions.listMessages(tenant, sessionId, { after, limit: PAGE }, access)).messages;
  });
  const events = await readLog<SessionEvent>(info.event_count, async (after) => {
    return (await sessions.listEvents(tenant, sessionId, { after, limit: PAGE }, access)).events;
  });
  return { info, messages, events };
}

/** Like `readSessionContent`, but `undefined` for a session that is not live. */
export async function readLiveSessionContent(
  sessions: Sessions,
  tenant: string,
  sessionId: string,
): Promise<SessionContent | undefined> {
  try {
    return await readSessionContent(sessions, tenant, sessionId);
  } catch (error) {
    if (isAppError(error, 'SessionNotFound')) return undefined;
    throw error;
  }
}

/** Records 1..`count` of a log, page by page. */
async function readLog<R extends { seq: number }>(
  count: number,
  page: (after: number) => Promise<R[]>,
): Promise<R[]> {
  const records: R[] = [];
  while (records.length < count) {
    const next = await page(records.length);
    if (next.length === 0) break;
    for (const record of next.slice(0, count - records.length)) records.push(record);
  }
  if (records.length !== count || records.some((record, index) => record.seq !== index + 1))
    throw new AppError('DatabaseError', 'the session log has a gap');
  return records;
}
