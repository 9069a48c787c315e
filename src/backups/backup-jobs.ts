import { setTimeout as delay } from 'node:timers/promises';
import { AppError } from '../core/errors.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { backupJobSchema, type BackupJob } from './backup-schemas.ts';

/**
 * The status records of backup jobs, `backup-jobs/<id>.json` on the blob port, so that
 * any worker answers for a job another one runs. A running job refreshes its record
 * while it works; one not refreshed within `staleAfterMs` lost its worker and reads as
 * failed. Its backup has no manifest, so it was never listed as complete.
 */
export interface BackupJobs {
  save(job: BackupJob): Promise<void>;
  /** The job's status, or `undefined` if there is no such job. */
  get(backupId: string): Promise<BackupJob | undefined>;
  remove(backupId: string): Promise<void>;
}

const jobKey = (backupId: string) => `backup-jobs/${backupId}.json`;
const TORN_READ_ATTEMPTS = 5;
const TORN_READ_PAUSE_MS = 50;

export function createBackupJobs(blobs: BlobStore, staleAfterMs: number, now: () => Date): BackupJobs {
  return {
    async save(job) {
      await blobs.put(jobKey(job.backup_id), Buffer.from(JSON.stringify(job), 'utf8'));
    },
    async get(backupId) {
      let json: unknown;
      for (let attempt = 1; ; attempt++) {
        const bytes = await blobs.get(jobKey(backupId));
        if (bytes === undefined) return undefined;
        try {
          json = JSON.parse(Buffer.from(bytes).toString('utf8'));
          break;
        } catch (error) {
          // A blob binding may overwrite in place (Dapr's localstorage does), so a read
          // racing the running job's refresh can see half a record: read it again.
          if (attempt < TORN_READ_ATTEMPTS) {
            await delay(TORN_READ_PAUSE_MS);
            continue;
          }
          throw new AppError('IoError', `the status record of backup ${backupId} is not JSON`, {
            cause: error,
          });
        }
      }
      const parsed = backupJobSchema.safeParse(json);
      if (!parsed.success)
        throw new AppError('IoError', `the status record of backup ${backupId} is damaged`, {
          cause: parsed.error,
        });
      const job = parsed.data;
      if (job.status === 'running' && now().getTime() - Date.parse(job.updated_at) > staleAfterMs)
        return {
          ...job,
          status: 'failed',
          error: { code: 'Unavailable', message: 'the worker running the backup stopped before it finished' },
        };
      return job;
    },
    async remove(backupId) {
      await blobs.delete(jobKey(backupId));
    },
  };
}
