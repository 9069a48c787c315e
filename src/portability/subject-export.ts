import { isAppError } from '../core/errors.ts';
import { canOperate } from '../core/identity/authorize.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { PersistentState } from '../core/state/persistent-state.ts';
import { withChecksum } from './checksum.ts';
import {
  SUBJECT_FORMAT_VERSION,
  type ExportedKey,
  type ExportedVersion,
  type SubjectDocument,
} from './subject-document.ts';

export interface SubjectExportRequest {
  readonly subject: string;
  readonly tenant: string;
  readonly environment: string;
  /** @default new Date() */
  readonly now?: Date;
}

/**
 * The export of `subject` of `tenant`, for an operator of that tenant (`Forbidden`
 * otherwise): every live persistent key with its retained history, oldest first.
 * `sessions` is empty: the engine keeps no index of an agent's sessions to enumerate
 * them by (a session is exported by id with `session export`); the format carries them
 * for when it does, and import restores them.
 */
export async function exportSubject(
  persistent: (tenant: string, agent: string) => PersistentState,
  caller: Caller,
  request: SubjectExportRequest,
): Promise<SubjectDocument> {
  const { subject, tenant, environment, now = new Date() } = request;
  canOperate(caller, tenant);
  const state = persistent(tenant, subject);
  const keys: ExportedKey[] = [];
  for (let cursor: string | undefined; ;) {
    const page = await state.list(cursor === undefined ? {} : { cursor });
    for (const { key } of page.entries) {
      const versions = await retainedHistory(state, key);
      // Deleted between the listing and the read: it is not part of the subject any more.
      if (versions.length > 0) keys.push({ key, versions });
    }
    if (page.cursor === undefined) break;
    cursor = page.cursor;
  }
  return withChecksum({
    format_version: SUBJECT_FORMAT_VERSION,
    subject_id: subject,
    tenant_id: tenant,
    exported_at: now.toISOString(),
    provenance: { exporter: 'agentstate', exported_by: caller.principal, source_environment: environment },
    persistent: keys,
    sessions: [],
  });
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
