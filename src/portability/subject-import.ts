import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { canOperate } from '../core/identity/authorize.ts';
import { idSchema, type Caller } from '../core/identity/caller.ts';
import type { Json } from '../core/json.ts';
import { parseInput } from '../core/parse-input.ts';
import type { Sessions } from '../core/sessions/sessions.ts';
import type { PersistentState } from '../core/state/persistent-state.ts';
import { decodeDocument } from './portable-document.ts';
import { readLiveSessionContent, type SessionContent } from './session-reader.ts';
import type { StateWriter } from './state-writer.ts';
import {
  subjectDocumentFormat,
  type ExportedKey,
  type ExportedSession,
  type SubjectDocument,
} from './subject-document.ts';
import { retainedHistory } from './subject-export.ts';

/** The body of `POST /admin/import` (spec/003). */
export const subjectImportRequestSchema = z.strictObject({
  document: z.unknown().describe('The subject export, as `GET /admin/export/{subject}` answered it.'),
  target_subject_id: idSchema
    .exactOptional()
    .describe("The subject to import into; the document's when absent."),
  target_tenant_id: idSchema
    .exactOptional()
    .describe("The tenant to import into; the document's when absent."),
  preserve_ids: z
    .boolean()
    .default(true)
    .describe(
      'Keep the session ids (true, the default; conflicts are refused) or give the sessions new ones, rewriting every reference.',
    ),
});

const count = z.number().int().nonnegative();

/** The answer of `POST /admin/import`. */
export const subjectImportReportSchema = z.strictObject({
  subject_id: z.string(),
  tenant_id: z.string(),
  preserve_ids: z.boolean(),
  keys_written: count.describe('Persistent keys loaded with their history.'),
  keys_unchanged: count.describe('Persistent keys that already held exactly their history.'),
  keys_renumbered: count.describe('Keys whose versions continue above versions the key had here.'),
  versions_written: count,
  sessions_written: count,
  sessions_unchanged: count,
  session_ids: z
    .record(z.string(), z.string())
    .describe('Old session id to new one, when `preserve_ids` is false.'),
});
export type SubjectImportReport = z.infer<typeof subjectImportReportSchema>;

export interface SubjectImportDependencies {
  readonly persistent: (tenant: string, agent: string) => PersistentState;
  readonly sessions: Sessions;
  readonly writer: StateWriter;
}

/**
 * Imports a subject export into `target_tenant_id` / `target_subject_id` for an
 * operator of the target tenant. Everything is checked before anything is written:
 * format version (`IncompatibleVersion`), checksum (`ChecksumMismatch`), shape and
 * unknown fields (`InvalidInput`), then the conflicts (`IdConflict` listing every one):
 * with `preserve_ids`, a live key whose history is not the document's; always, a live
 * session under an id the import would write that holds anything else. Then the keys
 * load through the engine's bulk path and the sessions are restored; what already holds
 * its image is skipped, so importing the same document again changes nothing and an
 * import cut short finishes when run again (new session ids are derived from the
 * document and the target, so a rerun picks the same ones).
 */
export async function importSubject(
  deps: SubjectImportDependencies,
  caller: Caller,
  body: unknown,
): Promise<SubjectImportReport> {
  const request = parseInput(subjectImportRequestSchema, body, 'import request');
  const decoded = decodeDocument(subjectDocumentFormat, request.document);
  const tenant = request.target_tenant_id ?? decoded.tenant_id;
  const subject = request.target_subject_id ?? decoded.subject_id;
  canOperate(caller, tenant);
  const { document, sessionIds } = request.preserve_ids
    ? { document: decoded, sessionIds: {} }
    : withNewSessionIds(decoded, tenant, subject);
  const state = deps.persistent(tenant, subject);

  const conflicts: string[] = [];
  const keys: ExportedKey[] = [];
  for (const image of document.persistent) {
    const existing = await retainedHistory(state, image.key);
    if (isDeepStrictEqual(existing, image.versions)) continue;
    if (existing.length > 0 && request.preserve_ids)
      conflicts.push(`persistent key ${JSON.stringify(image.key)}`);
    keys.push(image);
  }
  const sessions: ExportedSession[] = [];
  for (const image of document.sessions) {
    const current = await readLiveSessionContent(deps.sessions, tenant, image.session_id);
    if (current === undefined) sessions.push(image);
    else if (!holdsImage(current, image, subject)) conflicts.push(`session ${image.session_id}`);
  }
  if (conflicts.length > 0)
    throw new AppError(
      'IdConflict',
      `the target already holds other data under ${conflicts.length} of the document's ids; nothing was imported`,
      { details: { conflicts } },
    );

  const loaded = await deps.writer.writePersistentKeys(tenant, subject, keys);
  for (const image of sessions)
    await deps.writer.writeSession({
      tenant,
      agent: subject,
      sessionId: image.session_id,
      createdAt: image.created_at,
      messages: image.messages,
      events: image.events,
    });
  return {
    subject_id: subject,
    tenant_id: tenant,
    preserve_ids: request.preserve_ids,
    keys_written: keys.length,
    keys_unchanged: document.persistent.length - keys.length,
    keys_renumbered: loaded.renumbered,
    versions_written: keys.reduce((sum, key) => sum + key.versions.length, 0),
    sessions_written: sessions.length,
    sessions_unchanged: document.sessions.length - sessions.length,
    session_ids: sessionIds,
  };
}

function holdsImage(current: SessionContent, image: ExportedSession, agent: string): boolean {
  return (
    current.info.agent === agent &&
    current.info.created_at === image.created_at &&
    isDeepStrictEqual(current.messages, image.messages) &&
    isDeepStrictEqual(current.events, image.events)
  );
}

/**
 * The document with a new id for every session, and every reference to an old id (in
 * any string of messages, events and persistent values) rewritten to the new one. A new
 * id is derived from the document's checksum, the target and the old id (a UUID of
 * version 8, RFC 9562), so a rerun of the same import writes the same sessions.
 */
export function withNewSessionIds(
  document: SubjectDocument,
  tenant: string,
  subject: string,
): { document: SubjectDocument; sessionIds: Record<string, string> } {
  const sessionIds = Object.fromEntries(
    document.sessions.map(({ session_id }) => [
      session_id,
      derivedUuid(`${document.checksum}\n${tenant}\n${subject}\n${session_id}`),
    ]),
  );
  const rewrite = (value: Json): Json => rewriteIds(value, sessionIds);
  return {
    document: {
      ...document,
      persistent: document.persistent.map((key) => ({
        ...key,
        versions: key.versions.map((version) => ({ ...version, value: rewrite(version.value) })),
      })),
      sessions: document.sessions.map((session) => ({
        ...session,
        session_id: sessionIds[session.session_id] ?? session.session_id,
        messages: rewrite(session.messages) as ExportedSession['messages'],
        events: rewrite(session.events) as ExportedSession['events'],
      })),
    },
    sessionIds,
  };
}

function derivedUuid(seed: string): string {
  const bytes = createHash('sha256').update(seed, 'utf8').digest().subarray(0, 16);
  bytes[6] = 0x80 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `value` with every occurrence of an old id inside any string replaced by its new id. */
function rewriteIds(value: Json, ids: Readonly<Record<string, string>>): Json {
  if (typeof value === 'string')
    return Object.entries(ids).reduce((text, [from, to]) => text.replaceAll(from, to), value);
  if (Array.isArray(value)) return value.map((item) => rewriteIds(item, ids));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteIds(v, ids)]));
  return value;
}
