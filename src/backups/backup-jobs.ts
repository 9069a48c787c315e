import { isAppError } from '../core/errors.ts';
import { decodeRecord } from '../core/state/stored-record.ts';
import type { KvStore } from '../ports/kv-store.ts';
import { backupJobSchema, type BackupJob } from './backup-schemas.ts';

/**
 * The status records of backup jobs, one key per job in the KV store (`_backup-jobs/<id>`;
 * tenants start with a letter or digit, so the key is no tenant's), so that any worker
 * answers for a job another one runs. A record is replaced whole by a single-key save,
 * so a reader sees the old or the new status, never a mix. A running job refreshes its
 * record while it works; one not refreshed within `staleAfterMs` lost its worker and
 * reads as failed. Its backup has no manifest, so it was never listed as complete.
 */
export interface BackupJobs {
  /** Creates the record of a new job; the job's writes go through the answered recorder. */
  create(job: BackupJob): Promise<JobRecorder>;
  /** The job's status, or `undefined` if there is no such job. */
  get(backupId: string): Promise<BackupJob | undefined>;
  remove(backupId: string): Promise<void>;
}

/**
 * The one writer of a job's record: writes apply in the order they were asked for, each
 * a CAS on the ETag of the one before, and once a final status (complete, failed) is
 * written a later refresh of the running status is dropped, never written over it.
 */
export interface JobRecorder {
  save(job: BackupJob): Promise<void>;
}

const jobKey = (backupId: string) => `_backup-jobs/${backupId}`;

export function createBackupJobs(kv: KvStore, staleAfterMs: number, now: () => Date): BackupJobs {
  const isStale = (job: BackupJob) => now().getTime() - Date.parse(job.updated_at) > staleAfterMs;

  return {
    async create(job) {
      let etag = await kv.save(jobKey(job.backup_id), job, { ifAbsent: true });
      let final = job.status !== 'running';
      let queue = Promise.resolve();
      const write = async (next: BackupJob) => {
        if (final) return;
        try {
          etag = await kv.save(jobKey(next.backup_id), next, { etag });
        } catch (error) {
          // Only this recorder writes the record: a conflict means it was removed
          // (retention) or is being rewritten by no one; the status is not ours to keep.
          if (isAppError(error, 'VersionConflict')) {
            final = true;
            return;
          }
          throw error;
        }
        if (next.status !== 'running') final = true;
      };
      return {
        save(next) {
          const written = queue.then(() => write(next));
          queue = written.catch(() => undefined);
          return written;
        },
      };
    },

    async get(backupId) {
      const entry = await kv.get(jobKey(backupId));
      if (entry === undefined) return undefined;
      const job = decodeRecord(backupJobSchema, entry, jobKey(backupId));
      if (job.status === 'running' && isStale(job))
        return {
          ...job,
          status: 'failed',
          error: { code: 'Unavailable', message: 'the worker running the backup stopped before it finished' },
        };
      return job;
    },

    async remove(backupId) {
      await kv.delete(jobKey(backupId));
    },
  };
}
