import {
  backupCreateInputSchema,
  backupCreateResultSchema,
  backupExportInputSchema,
  backupExportResultSchema,
  backupListInputSchema,
  backupListResultSchema,
  backupRestoreInputSchema,
  backupRestoreResultSchema,
} from '../backups/backup-schemas.ts';
import { defineCapability } from './capability.ts';

// Whether a caller may back up, restore or export at all is the permission class's
// business, decided by the invoker before `run` (approval_required: an operator runs
// it, anyone else waits for an approval). `run` only keeps every call inside the
// caller's tenant, which `Backups` does for each operation.

export const backupCapabilities = [
  defineCapability({
    name: 'state.backup.create',
    permission: 'approval_required',
    description:
      "Starts an encrypted backup (AES-256-GCM, key from the vault) of all agents' persistent state and the shared state (of every tenant, for a platform operator), or of one agent; answers its id at once.",
    input: backupCreateInputSchema,
    output: backupCreateResultSchema,
    run: (services, context, { agent }) => services.backups.create(context.caller, agent),
  }),
  defineCapability({
    name: 'state.backup.list',
    permission: 'autonomous',
    description: 'Lists complete backups, newest first, with timestamps, sizes and scope.',
    input: backupListInputSchema,
    output: backupListResultSchema,
    run: (services, context) => services.backups.list(context.caller),
  }),
  defineCapability({
    name: 'state.backup.restore',
    permission: 'approval_required',
    description:
      'Restores state from an encrypted backup, after checking all of it and taking a safety backup of what it overwrites.',
    input: backupRestoreInputSchema,
    output: backupRestoreResultSchema,
    run: (services, context, { backup_id, agent }) =>
      services.backups.restore(context.caller, backup_id, agent),
  }),
  defineCapability({
    name: 'state.backup.export',
    permission: 'approval_required',
    description: "Exports an encrypted backup to a file path on the worker's file system.",
    input: backupExportInputSchema,
    output: backupExportResultSchema,
    run: (services, context, { backup_id, path }) => services.backups.export(context.caller, backup_id, path),
  }),
];
