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
  const pages = sessionLogPages(sessions, tenant, info, access);
  return { info, messages: await all(pages.messages), events: await all(pages.events) };
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

async function all<R>(pages: AsyncIterable<R[]>): Promise<R[]> {
  const records: R[] = [];
  for await (const page of pages) for (const record of page) records.push(record);
  return records;
}

/**
 * Records 1..`count` of a log, a page at a time, checked to be numbered without a gap
 * (`DatabaseError` at the first one out of place: the log is damaged).
 */
export async function* logPages<R extends { seq: number }>(
  count: number,
  page: (after: number) => Promise<R[]>,
): AsyncGenerator<R[], void, undefined> {
  let read = 0;
  while (read < count) {
    const next = (await page(read)).slice(0, count - read);
    if (next.length === 0) break;
    if (next.some((record, index) => record.seq !== read + index + 1))
      throw new AppError('DatabaseError', 'the session log has a gap');
    read += next.length;
    yield next;
  }
  if (read !== count) throw new AppError('DatabaseError', 'the session log has a gap');
}

/** Pages of a live session's messages and events, up to the counts of `info`. */
export function sessionLogPages(
  sessions: Sessions,
  tenant: string,
  info: SessionInfo,
  access?: SessionAccess,
) {
  const id = info.session_id;
  return {
    messages: logPages<Message>(info.message_count, async (after) => {
      return (await sessions.listMessages(tenant, id, { after, limit: PAGE }, access)).messages;
    }),
    events: logPages<SessionEvent>(info.event_count, async (after) => {
      return (await sessions.listEvents(tenant, id, { after, limit: PAGE }, access)).events;
    }),
  };
}
