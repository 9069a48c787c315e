import { z } from 'zod';
import { idSchema } from '../core/identity/caller.ts';
import { jsonSchema } from '../core/json.ts';
import type { DocumentFormat } from './portable-document.ts';
import { eventLogSchema, messageLogSchema } from './session-snapshot.ts';

/** The subject export version this build writes; `readable` lists what it reads. */
export const SUBJECT_FORMAT_VERSION = 1 as const;

const timestamp = z.iso.datetime();

export const exportedVersionSchema = z.strictObject({
  version: z.number().int().min(1),
  value: jsonSchema,
  created_at: timestamp,
  updated_at: timestamp,
});
export type ExportedVersion = z.infer<typeof exportedVersionSchema>;

export const exportedKeySchema = z
  .strictObject({
    key: z.string().min(1),
    versions: z
      .array(exportedVersionSchema)
      .min(1)
      .describe('The retained versions, oldest first: consecutive numbers, the last one current.'),
  })
  .refine(
    ({ versions }) => versions.every((v, i) => i === 0 || v.version === (versions[i - 1]?.version ?? 0) + 1),
    'versions must be consecutive, oldest first',
  );
export type ExportedKey = z.infer<typeof exportedKeySchema>;

export const exportedSessionSchema = z.strictObject({
  session_id: z.uuid(),
  created_at: timestamp,
  messages: messageLogSchema,
  events: eventLogSchema,
});
export type ExportedSession = z.infer<typeof exportedSessionSchema>;

/**
 * A subject export (spec/003): everything durable of one agent
 * ("subject") of one tenant: its persistent state with every retained version, and its
 * sessions with messages and events. Left out, as ephemeral: session key-values, watch
 * inboxes and subscriptions, quota counters (recounted on import). Unknown top-level
 * fields are refused, so a document is never half understood.
 */
export const subjectDocumentSchema = z.strictObject({
  format_version: z.literal(SUBJECT_FORMAT_VERSION),
  subject_id: idSchema,
  tenant_id: idSchema,
  exported_at: timestamp,
  provenance: z.strictObject({
    exporter: z.string(),
    exported_by: z.string(),
    source_environment: z.string(),
  }),
  persistent: z.array(exportedKeySchema),
  sessions: z.array(exportedSessionSchema),
  checksum: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});
export type SubjectDocument = z.infer<typeof subjectDocumentSchema>;

export const subjectDocumentFormat: DocumentFormat<SubjectDocument> = {
  what: 'subject export',
  versionField: 'format_version',
  readable: [SUBJECT_FORMAT_VERSION],
  schema: subjectDocumentSchema,
};
