import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import { logPageInputSchema } from '../sessions/session-schemas.ts';
import { sharedListInputSchema } from '../state/shared-schemas.ts';

// The input and output of state.shared.watch exactly as the spec lists them, and the
// agent's inbox of change events it fills. Every surface parses, answers and documents
// with these; JSON Schemas and OpenAPI are generated from them.

const timestamp = z.iso.datetime();
const count = z.int().nonnegative();
const seq = z.int().positive();

export const sharedWatchInputSchema = z.strictObject({
  // The same rules as the prefix of state.shared.list: any text of at most 512 bytes
  // without control characters.
  prefix: sharedListInputSchema.shape.prefix.describe(
    "Only changes of keys that start with this text, e.g. 'config.'; every change when left out.",
  ),
});
export type SharedWatchInput = z.infer<typeof sharedWatchInputSchema>;

export const sharedWatchResultSchema = z.object({
  subscription_id: z
    .string()
    .describe(
      "Names the subscription. Its changes are delivered to the agent's inbox (GET /v1/agents/{agent}/inbox) until the session that created it ends.",
    ),
});
export type SharedWatchResult = z.infer<typeof sharedWatchResultSchema>;

export const watchedChangeSchema = z
  .strictObject({
    id: z.uuid().describe('Names the change: a change delivered twice carries the same id.'),
    key: z.string().describe('The shared key that changed.'),
    version: z.int().min(1).describe('For a set, the version written; for a delete, the version removed.'),
    owner_agent: idSchema.describe('The agent that wrote or deleted the key.'),
    operation: z.enum(['set', 'delete']).describe('What happened to the key.'),
    at: timestamp.describe('When the change was committed.'),
  })
  .describe('One committed change of a shared key.');
export type WatchedChange = z.infer<typeof watchedChangeSchema>;

export const inboxEntrySchema = z
  .strictObject({
    seq: seq.describe('Position in the inbox: 1, 2, 3, ... in order of delivery.'),
    subscription_id: z.string().describe('The subscription whose prefix the change matched.'),
    event: watchedChangeSchema,
    delivered_at: timestamp.describe('When the change reached the inbox.'),
  })
  .describe('One change delivered to an agent by one of its subscriptions.');
export type InboxEntry = z.infer<typeof inboxEntrySchema>;

export const inboxListInputSchema = logPageInputSchema.describe(
  'A page of unacknowledged inbox entries, by sequence number.',
);
export type InboxListInput = z.infer<typeof inboxListInputSchema>;

export const inboxPageSchema = z
  .strictObject({
    entries: z
      .array(inboxEntrySchema)
      .describe('Unacknowledged entries in order of `seq`; acknowledged ones are removed.'),
    count: count.describe('How many entries this answer holds.'),
    unread: count.describe('How many entries the inbox holds that were not acknowledged.'),
    dropped: count.describe(
      'How many entries the inbox has discarded unread since it was created, because it was full: the oldest unread entries make room for new ones.',
    ),
    next_after: seq
      .exactOptional()
      .describe('Present when more entries follow: pass it back as `after` for the next page.'),
  })
  .describe("A page of an agent's inbox.");
export type InboxPage = z.infer<typeof inboxPageSchema>;

export const inboxAckInputSchema = z.strictObject({
  through: count.describe(
    'Acknowledges every entry up to and including this sequence number; they are then removed. Acknowledging again changes nothing; a number past the last delivered entry is InvalidInput.',
  ),
});
export type InboxAckInput = z.infer<typeof inboxAckInputSchema>;

export const inboxAckResultSchema = z.strictObject({
  unread: count.describe('How many entries are left unacknowledged.'),
});
export type InboxAckResult = z.infer<typeof inboxAckResultSchema>;
