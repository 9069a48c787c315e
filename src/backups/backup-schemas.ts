import { z } from 'zod';
import { idSchema } from '../core/identity/caller.ts';
import { backupIdSchema, backupScopeSchema } from './backup-manifest.ts';

// The inputs and outputs of the `state.backup.*` capabilities (spec/000) and of the
// backup routes beyond them (status, verify). Outputs carry a few fields more than the
// spec lists (status, safety_backup_id), never fewer.

const timestamp = z.iso.datetime();

export const backupCreateInputSchema = z.strictObject({
  agent: idSchema
    .exactOptional()
    .describe("Back up only this agent's persistent state; omitted, a full backup."),
});

export const backupStatusSchema = z.enum(['running', 'complete', 'failed']);

export const backupCreateResultSchema = z.strictObject({
  backup_id: backupIdSchema,
  created_at: timestamp,
  file_size_bytes: z
    .number()
    .int()
    .nonnegative()
    .describe(
      'Encrypted bytes written so far: 0 when the job starts; follow GET /v1/backups/{id} for the final size.',
    ),
  scope: backupScopeSchema,
  status: backupStatusSchema,
});

export const backupListInputSchema = z.strictObject({});

const listedBackupSchema = z.strictObject({
  backup_id: backupIdSchema,
  created_at: timestamp,
  scope: backupScopeSchema,
  file_size_bytes: z.number().int().nonnegative(),
});

export const backupListResultSchema = z.strictObject({
  backups: z.array(listedBackupSchema).describe('Complete backups, newest first.'),
  count: z.number().int().nonnegative(),
});

export const backupRestoreInputSchema = z.strictObject({
  backup_id: backupIdSchema,
  agent: idSchema
    .exactOptional()
    .describe("Restore only this agent's state; omitted, everything in the backup."),
});

export const backupRestoreResultSchema = z.strictObject({
  restored: z.boolean(),
  agents_restored: z.array(idSchema),
  shared_state_restored: z.boolean(),
  safety_backup_id: backupIdSchema.describe('The backup of what the restore overwrote, taken before it.'),
  tenants_restored: z
    .array(z.strictObject({ tenant: idSchema, agents_restored: z.array(idSchema) }))
    .exactOptional()
    .describe("A platform operator's full backup only: each tenant restored, with its agents."),
});

export const backupExportInputSchema = z.strictObject({
  backup_id: backupIdSchema,
  path: z
    .string()
    .min(1)
    .describe("A directory (the file is named after the backup) or a file path on the worker's file system."),
});

export const backupExportResultSchema = z.strictObject({
  exported_path: z.string(),
  size_bytes: z.number().int().nonnegative(),
});

export const backupJobSchema = z.strictObject({
  backup_id: backupIdSchema,
  tenant: idSchema,
  scope: backupScopeSchema,
  status: backupStatusSchema,
  created_at: timestamp,
  /** Refreshed while the job runs; a running job not refreshed for long has lost its worker. */
  updated_at: timestamp,
  file_size_bytes: z.number().int().nonnegative(),
  error: z.strictObject({ code: z.string(), message: z.string() }).exactOptional(),
});

export const backupVerifyInputSchema = z.strictObject({
  sample_percent: z.number().min(0.01).max(100).default(100),
});

export const backupVerifyResultSchema = z.strictObject({
  backup_id: backupIdSchema,
  verified: z.literal(true),
  sample_percent: z.number(),
  chunks_checked: z.number().int().nonnegative(),
  parts_checked: z.number().int().nonnegative(),
});

export type BackupCreateResult = z.infer<typeof backupCreateResultSchema>;
export type BackupListResult = z.infer<typeof backupListResultSchema>;
export type BackupRestoreResult = z.infer<typeof backupRestoreResultSchema>;
export type BackupExportResult = z.infer<typeof backupExportResultSchema>;
export type BackupJob = z.infer<typeof backupJobSchema>;
export type BackupVerifyResult = z.infer<typeof backupVerifyResultSchema>;
