import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../adapters/embedded/folder-blob-store.ts';
import { isAppError } from '../core/errors.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { createBackupJobs } from './backup-jobs.ts';
import { newBackupId } from './backup-ids.ts';
import type { BackupJob } from './backup-schemas.ts';

let root: string;
let folder: BlobStore;
const now = () => new Date('2030-01-01T00:00:00.000Z');

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentstate-jobs-'));
  folder = createFolderBlobStore({ root });
  await folder.init();
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** A blob store whose first `torn` reads of a key answer its first half, as an in-place overwrite can. */
function tearing(inner: BlobStore, torn: number): BlobStore {
  let left = torn;
  return {
    ...inner,
    async get(key) {
      const bytes = await inner.get(key);
      if (bytes === undefined || left === 0) return bytes;
      left--;
      return bytes.subarray(0, Math.floor(bytes.length / 2));
    },
  };
}

function job(): BackupJob {
  const at = now().toISOString();
  return {
    backup_id: newBackupId(now()),
    tenant: 't1',
    scope: 'full',
    status: 'running',
    created_at: at,
    updated_at: at,
    file_size_bytes: 0,
  };
}

describe('backup job records', () => {
  it('reads a record again when a read met it half rewritten', async () => {
    const written = job();
    await createBackupJobs(folder, 60_000, now).save(written);
    expect(await createBackupJobs(tearing(folder, 2), 60_000, now).get(written.backup_id)).toEqual(written);
  });

  it('answers IoError for a record that stays unreadable', async () => {
    const written = job();
    await createBackupJobs(folder, 60_000, now).save(written);
    const error = await createBackupJobs(tearing(folder, 100), 60_000, now)
      .get(written.backup_id)
      .catch((e: unknown) => e);
    expect(isAppError(error, 'IoError')).toBe(true);
  });
});
