import {
  backupJobSchema,
  backupVerifyInputSchema,
  backupVerifyResultSchema,
  backupCreateInputSchema,
  backupExportInputSchema,
  backupRestoreInputSchema,
} from '../backups/backup-schemas.ts';
import type { Operation } from './openapi.ts';

/** The routes of `routes/backups.ts`, with the schemas they parse and answer with. */
export const backupOperations: readonly Operation[] = [
  {
    method: 'post',
    path: '/v1/backups',
    summary: 'Start an encrypted backup job (full, or `agent`); `Location` is its status',
    capability: 'state.backup.create',
    body: backupCreateInputSchema,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/backups',
    summary: 'Complete backups, newest first',
    capability: 'state.backup.list',
  },
  {
    method: 'get',
    path: '/v1/backups/{id}',
    summary: "A backup job's status: running, complete or failed",
    response: backupJobSchema,
  },
  {
    method: 'post',
    path: '/v1/backups/{id}/restore',
    summary: 'Restore a backup after checking all of it and taking a safety backup',
    capability: 'state.backup.restore',
    body: backupRestoreInputSchema.omit({ backup_id: true }),
  },
  {
    method: 'post',
    path: '/v1/backups/{id}/export',
    summary: "Export a backup, still encrypted, to a file on the worker's file system",
    capability: 'state.backup.export',
    body: backupExportInputSchema.omit({ backup_id: true }),
  },
  {
    method: 'post',
    path: '/v1/backups/{id}/verify',
    summary:
      'Check every chunk of a backup (`latest` for the newest), or a sample of its parts, without restoring',
    body: backupVerifyInputSchema,
    response: backupVerifyResultSchema,
  },
];
