import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import { jsonSchema } from '../json.ts';
import { keyPrefixSchema, userKeySchema } from '../state/key-schemas.ts';
import { USER_KEY_MAX_BYTES } from '../state/user-key.ts';

// The inputs and outputs of sessions: the state.session.* capabilities exactly as the
// spec lists them (plus `limit`/`cursor` pagination on list), the session lifecycle, and
// the message and event logs. Every surface parses, answers and documents with these;
// the JSON Schemas of GET /v1/capabilities are generated from them.

/** The largest message `content`, in bytes of UTF-8: larger is `PayloadTooLarge`. */
export const MAX_CONTENT_BYTES = 256 * 1024;
/** The largest message `metadata` or event `data`, in bytes of JSON: larger is `PayloadTooLarge`. */
export const MAX_LOG_DATA_BYTES = 256 * 1024;
/** The most keys, messages or events one page answers. */
export const MAX_PAGE_LIMIT = 1000;

const timestamp = z.iso.datetime();
const count = z.number().int().nonnegative();
const seq = z.number().int().positive();

export const sessionIdSchema = z.uuid().describe('The session, as `open` answered it.');

const sessionKey = userKeySchema.describe(
  `A key of session state: 1 to ${USER_KEY_MAX_BYTES} bytes of UTF-8 without control characters or '.'/'..' path segments. ` +
    "Dotted names such as 'task.current' help to organise keys.",
);

// ---- lifecycle ----

export const openSessionInputSchema = z
  .strictObject({
    tenant: idSchema.describe('The tenant the session belongs to.'),
    agent: idSchema.describe('The agent the session belongs to.'),
  })
  .describe('Opens a new session.');
export type OpenSessionInput = z.infer<typeof openSessionInputSchema>;

export const sessionInfoSchema = z
  .strictObject({
    session_id: z.uuid().describe('Names the session in every later call.'),
    agent: z.string().describe('The agent the session belongs to.'),
    status: z.literal('active').describe('Always `active`: an ended or expired session is not found.'),
    created_at: timestamp.describe('When the session was opened.'),
    last_active_at: timestamp.describe(
      'The last recorded activity; calls refresh it at most once per tenth of the idle timeout.',
    ),
    idle_timeout_seconds: z
      .number()
      .int()
      .positive()
      .describe('The session ends after this long without a call.'),
    expires_at: timestamp.describe('When the session ends unless a call refreshes it first.'),
    hard_expires_at: timestamp.describe('When the session ends however active it is.'),
    message_count: count.describe('Messages in the session history.'),
    event_count: count.describe('Events in the session event log.'),
  })
  .describe('A live session.');
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

export const endSessionResultSchema = z.strictObject({
  ended: z.literal(true),
  removed_keys: count.describe('Key-values of session state that ending the session destroyed.'),
});
export type EndSessionResult = z.infer<typeof endSessionResultSchema>;

// ---- state.session.* ----

export const sessionGetInputSchema = z.strictObject({
  key: sessionKey.describe('The key to read.'),
});
export const sessionGetResultSchema = z.strictObject({
  value: jsonSchema.describe('The stored value, or null when the key does not exist.'),
  found: z.boolean().describe('Whether the key exists in session state.'),
});
export type SessionGetResult = z.infer<typeof sessionGetResultSchema>;

export const sessionSetInputSchema = z.strictObject({
  key: sessionKey.describe('The key to write; an existing value under it is replaced.'),
  value: jsonSchema.describe('Any JSON value: string, number, boolean, null, object or array.'),
});
export const sessionSetResultSchema = z.strictObject({
  previous_value: jsonSchema.describe('The value that was replaced, or null when the key was new.'),
  overwritten: z.boolean().describe('Whether an existing value was replaced.'),
});
export type SessionSetResult = z.infer<typeof sessionSetResultSchema>;

export const sessionDeleteInputSchema = z.strictObject({
  key: sessionKey.describe('The key to remove.'),
});
export const sessionDeleteResultSchema = z.strictObject({
  previous_value: jsonSchema.describe('The value that was removed, or null when the key did not exist.'),
  deleted: z.boolean().describe('Whether the key existed and was removed.'),
});
export type SessionDeleteResult = z.infer<typeof sessionDeleteResultSchema>;

export const sessionListInputSchema = z.strictObject({
  prefix: keyPrefixSchema
    .exactOptional()
    .describe("Only keys that start with this, e.g. 'task.'; every key when absent."),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .exactOptional()
    .describe(`The most keys to answer. Default and maximum ${MAX_PAGE_LIMIT}.`),
  cursor: sessionKey.exactOptional().describe('The `cursor` of the previous answer, to read the next page.'),
});
export type SessionListInput = z.infer<typeof sessionListInputSchema>;
export const sessionListResultSchema = z.strictObject({
  keys: z.array(z.string()).describe('The matching keys, in ascending order.'),
  count: count.describe('How many keys this answer holds.'),
  cursor: z
    .string()
    .exactOptional()
    .describe('Present when more keys may follow: pass it back as `cursor` for the next page.'),
});
export type SessionListResult = z.infer<typeof sessionListResultSchema>;

export const sessionClearInputSchema = z.strictObject({});
export const sessionClearResultSchema = z.strictObject({
  removed_count: count.describe('How many keys were removed.'),
});
export type SessionClearResult = z.infer<typeof sessionClearResultSchema>;

// ---- messages and events ----

export const logPageInputSchema = z.strictObject({
  after: count
    .exactOptional()
    .describe('Answer the records after this sequence number: 0 (the default) starts at the first.'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .exactOptional()
    .describe(`The most records to answer. Default 100, maximum ${MAX_PAGE_LIMIT}.`),
});
export type LogPageInput = z.infer<typeof logPageInputSchema>;

const nextAfter = seq
  .exactOptional()
  .describe('Present when more records follow: pass it back as `after` for the next page.');

export const messageRoleSchema = z.enum(['user', 'assistant', 'tool', 'system']);

export const appendMessageInputSchema = z.strictObject({
  role: messageRoleSchema.describe('Who wrote the message.'),
  content: z.string().describe(`The message text, at most ${MAX_CONTENT_BYTES} bytes of UTF-8.`),
  metadata: z
    .record(z.string(), jsonSchema)
    .exactOptional()
    .describe(`Any JSON object kept with the message, at most ${MAX_LOG_DATA_BYTES} bytes.`),
});
export type AppendMessageInput = z.infer<typeof appendMessageInputSchema>;

export const messageSchema = z
  .strictObject({
    seq: seq.describe('Position in the history: 1, 2, 3, ... without gaps.'),
    role: messageRoleSchema,
    content: z.string(),
    metadata: z.record(z.string(), jsonSchema).exactOptional(),
    timestamp: timestamp.describe('When the message was appended.'),
  })
  .describe('One message of the append-only history.');
export type Message = z.infer<typeof messageSchema>;

export const messagePageSchema = z.strictObject({
  messages: z.array(messageSchema).describe('Messages in order of `seq`.'),
  count: count.describe('How many messages this answer holds.'),
  next_after: nextAfter,
});
export type MessagePage = z.infer<typeof messagePageSchema>;

export const appendEventInputSchema = z.strictObject({
  type: z.string().min(1).max(128).describe('What happened, e.g. `tool.called`: 1 to 128 characters.'),
  data: jsonSchema.describe(`Any JSON value describing the event, at most ${MAX_LOG_DATA_BYTES} bytes.`),
});
export type AppendEventInput = z.infer<typeof appendEventInputSchema>;

export const sessionEventSchema = z
  .strictObject({
    seq: seq.describe('Position in the log: 1, 2, 3, ... without gaps.'),
    type: z.string(),
    data: jsonSchema,
    timestamp: timestamp.describe('When the event was appended.'),
  })
  .describe('One event of the immutable event log.');
export type SessionEvent = z.infer<typeof sessionEventSchema>;

export const eventPageSchema = z.strictObject({
  events: z.array(sessionEventSchema).describe('Events in order of `seq`.'),
  count: count.describe('How many events this answer holds.'),
  next_after: nextAfter,
});
export type EventPage = z.infer<typeof eventPageSchema>;
