import { z } from 'zod';
import { idSchema } from '../core/identity/caller.ts';
import { messageSchema, sessionEventSchema } from '../core/sessions/session-schemas.ts';
import type { DocumentFormat } from './portable-document.ts';

/** The session snapshot version this build writes; `readable` lists what it reads. */
export const SESSION_SNAPSHOT_VERSION = 1 as const;

/** A tag of a snapshot: `key=value` on the command line. */
export const tagsSchema = z
  .record(z.string().min(1).max(128), z.string().max(1024))
  .describe('Arbitrary key=value metadata attached at export.');

const gapless = <R extends { seq: number }>(records: readonly R[]) =>
  records.every((record, index) => record.seq === index + 1);

/** A whole message history: numbered 1, 2, 3, ... in order. */
export const messageLogSchema = z
  .array(messageSchema)
  .refine(gapless, 'messages must be numbered 1, 2, 3, ... in order')
  .describe('Full message history.');

/** A whole event log: numbered 1, 2, 3, ... in order. */
export const eventLogSchema = z
  .array(sessionEventSchema)
  .refine(gapless, 'events must be numbered 1, 2, 3, ... in order')
  .describe('The immutable event log.');

/**
 * A session snapshot (spec/002): one session of one agent, portable
 * between environments. `checksum` is `sha256:` over the RFC 8785 encoding of every other
 * field (`checksum.ts`). Ephemeral session key-values and inboxes are not in it.
 */
export const sessionSnapshotSchema = z
  .strictObject({
    schema_version: z.literal(SESSION_SNAPSHOT_VERSION),
    tenant_id: idSchema.describe('The tenant the session belongs to.'),
    agent_id: idSchema.describe('Agent that produced this session.'),
    session_id: z.uuid().describe('The session.'),
    status: z
      .literal('active')
      .describe('The session status at export time: only a live session can be exported.'),
    created_at: z.iso.datetime().describe('When the session was opened.'),
    messages: messageLogSchema,
    events: eventLogSchema,
    event_log_count: z.number().int().nonnegative().describe('Number of events captured.'),
    tags: tagsSchema,
    source_environment: z
      .string()
      .describe('Where the snapshot was taken (AGENTSTATE_ENVIRONMENT of the exporting side).'),
    exported_at: z.iso.datetime(),
    checksum: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  })
  .refine((snapshot) => snapshot.event_log_count === snapshot.events.length, {
    message: 'event_log_count must be the number of events',
    path: ['event_log_count'],
  });
export type SessionSnapshot = z.infer<typeof sessionSnapshotSchema>;

export const sessionSnapshotFormat: DocumentFormat<SessionSnapshot> = {
  what: 'session snapshot',
  versionField: 'schema_version',
  readable: [SESSION_SNAPSHOT_VERSION],
  schema: sessionSnapshotSchema,
};
