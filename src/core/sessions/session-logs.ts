import { jsonByteLength } from '../json.ts';
import { appendToLog, readLog, type LogKind, type LogPage } from './append-log.ts';
import { parseInput } from '../parse-input.ts';
import { assertAtMost } from './session-input.ts';
import type { SessionHandle } from './session-record.ts';
import {
  appendEventInputSchema,
  appendMessageInputSchema,
  logPageInputSchema,
  MAX_CONTENT_BYTES,
  MAX_LOG_DATA_BYTES,
  messageSchema,
  sessionEventSchema,
  type AppendEventInput,
  type AppendMessageInput,
  type EventPage,
  type LogPageInput,
  type Message,
  type MessagePage,
  type SessionEvent,
} from './session-schemas.ts';

/** A session's message history and event log (see `appendToLog` for how appends commit). */
export interface SessionLogs {
  /** Appends a message as the next of the history; answers it with its `seq` and `timestamp`. */
  appendMessage(input: AppendMessageInput): Promise<Message>;
  /** Messages in order of `seq`, after `after` (default 0), at most `limit` (default 100). */
  listMessages(page?: LogPageInput): Promise<MessagePage>;
  /** Appends an event as the next of the log; answers it with its `seq` and `timestamp`. */
  appendEvent(input: AppendEventInput): Promise<SessionEvent>;
  /** Events in order of `seq`, after `after` (default 0), at most `limit` (default 100). */
  listEvents(page?: LogPageInput): Promise<EventPage>;
}

export const MESSAGES: LogKind<Message> = {
  counter: 'message_count',
  key: (keys, seq) => keys.message(seq),
  schema: messageSchema,
};

export const EVENTS: LogKind<SessionEvent> = {
  counter: 'event_count',
  key: (keys, seq) => keys.event(seq),
  schema: sessionEventSchema,
};

const DEFAULT_PAGE_LIMIT = 100;

/** The logs of the session that `session` opens; inputs are checked before the session is read. */
export function createSessionLogs(session: () => SessionHandle, now: () => Date): SessionLogs {
  async function page<R extends { seq: number }>(kind: LogKind<R>, input: LogPageInput): Promise<LogPage<R>> {
    const { after = 0, limit = DEFAULT_PAGE_LIMIT } = parseInput(logPageInputSchema, input, 'page');
    return readLog(session(), kind, { after, limit });
  }

  return {
    async appendMessage(input) {
      const { role, content, metadata } = parseInput(appendMessageInputSchema, input, 'message');
      assertAtMost('message content', Buffer.byteLength(content, 'utf8'), MAX_CONTENT_BYTES);
      if (metadata !== undefined)
        assertAtMost('message metadata', jsonByteLength(metadata), MAX_LOG_DATA_BYTES);
      return appendToLog(
        session(),
        MESSAGES,
        (seq, timestamp) => ({
          seq,
          role,
          content,
          ...(metadata === undefined ? {} : { metadata }),
          timestamp,
        }),
        now,
      );
    },

    async listMessages(input = {}) {
      const { records, nextAfter } = await page(MESSAGES, input);
      return {
        messages: records,
        count: records.length,
        ...(nextAfter === undefined ? {} : { next_after: nextAfter }),
      };
    },

    async appendEvent(input) {
      const { type, data } = parseInput(appendEventInputSchema, input, 'event');
      assertAtMost('event data', jsonByteLength(data), MAX_LOG_DATA_BYTES);
      return appendToLog(session(), EVENTS, (seq, timestamp) => ({ seq, type, data, timestamp }), now);
    },

    async listEvents(input = {}) {
      const { records, nextAfter } = await page(EVENTS, input);
      return {
        events: records,
        count: records.length,
        ...(nextAfter === undefined ? {} : { next_after: nextAfter }),
      };
    },
  };
}
