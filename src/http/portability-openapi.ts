import { sessionRestoreReportSchema } from '../portability/session-import.ts';
import { sessionSnapshotSchema } from '../portability/session-snapshot.ts';
import { checkpointAnswerSchema, snapshotListAnswerSchema } from '../portability/snapshot-answers.ts';
import { subjectDocumentSchema } from '../portability/subject-document.ts';
import { subjectImportReportSchema, subjectImportRequestSchema } from '../portability/subject-import.ts';
import type { Operation } from './openapi.ts';
import { subjectExportQuerySchema } from './routes/admin.ts';
import {
  snapshotExportQuerySchema,
  snapshotListQuerySchema,
  snapshotRestoreQuerySchema,
} from './routes/snapshots.ts';

const session = '/v1/agents/{agent}/sessions/{session}';

/** The routes of `routes/snapshots.ts` and `routes/admin.ts`, with the schemas they parse and answer with. */
export const portabilityOperations: readonly Operation[] = [
  {
    method: 'get',
    path: `${session}/snapshot`,
    summary: 'Export a live session as a snapshot (spec/002); `tag=key=value`, repeatable',
    querySchema: snapshotExportQuerySchema,
    response: sessionSnapshotSchema,
  },
  {
    method: 'post',
    path: '/v1/snapshots/restore',
    summary: 'Restore a session snapshot under its own ids; `dry_run=true` reports what would change',
    querySchema: snapshotRestoreQuerySchema,
    body: sessionSnapshotSchema,
    response: sessionRestoreReportSchema,
  },
  {
    method: 'post',
    path: `${session}/snapshots`,
    summary: "Store the session's snapshot in snapshot storage as its latest (spec/004)",
    querySchema: snapshotExportQuerySchema,
    response: checkpointAnswerSchema,
    status: 201,
  },
  {
    method: 'get',
    path: `${session}/snapshots`,
    summary: 'List stored snapshot ids, oldest first, a page at a time',
    querySchema: snapshotListQuerySchema,
    response: snapshotListAnswerSchema,
  },
  {
    method: 'get',
    path: `${session}/snapshots/{id}`,
    summary: 'Load a stored snapshot (`latest` for the latest)',
    response: sessionSnapshotSchema,
  },
  {
    method: 'get',
    path: '/admin/export/{subject}',
    summary: "Export a subject's persistent state with history and its sessions (spec/003); operators only",
    querySchema: subjectExportQuerySchema,
    response: subjectDocumentSchema,
  },
  {
    method: 'post',
    path: '/admin/import',
    summary: 'Import a subject export, verified, all ids checked first; operators only',
    body: subjectImportRequestSchema,
    response: subjectImportReportSchema,
  },
];
