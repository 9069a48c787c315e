import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../ports/kv-store.ts';
import { createBackupJobs } from './backup-jobs.ts';
import { newBackupId } from './backup-ids.ts';
import type { BackupJob } from './backup-schemas.ts';

let kv: KvStore;
let clock = new Date('2030-01-01T00:00:00.000Z');
const now = () => clock;

beforeEach(async () => {
  clock = new Date('2030-01-01T00:00:00.000Z');
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
});
afterEach(() => kv.close());

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
  it('reads back what the job wrote last', async () => {
    const jobs = createBackupJobs(kv, 60_000, now);
    const started = job();
    const recorder = await jobs.create(started);
    await recorder.save({ ...started, file_size_bytes: 10 });
    expect(await jobs.get(started.backup_id)).toEqual({ ...started, file_size_bytes: 10 });
    expect(await jobs.get(newBackupId(now()))).toBeUndefined();
  });

  it('never writes a refresh of the running status over the final one', async () => {
    const jobs = createBackupJobs(kv, 60_000, now);
    const started = job();
    const recorder = await jobs.create(started);
    const complete: BackupJob = { ...started, status: 'complete', file_size_bytes: 99 };
    // A heartbeat asked for after completion, as a timer can fire late.
    await Promise.all([recorder.save(complete), recorder.save({ ...started, file_size_bytes: 50 })]);
    expect(await jobs.get(started.backup_id)).toEqual(complete);
  });

  it('does not bring back a record removed while its job still wrote', async () => {
    const jobs = createBackupJobs(kv, 60_000, now);
    const started = job();
    const recorder = await jobs.create(started);
    await jobs.remove(started.backup_id);
    await recorder.save({ ...started, status: 'complete' });
    expect(await jobs.get(started.backup_id)).toBeUndefined();
  });

  it('reads a running job whose worker stopped refreshing it as failed', async () => {
    const jobs = createBackupJobs(kv, 60_000, now);
    const started = job();
    await jobs.create(started);
    clock = new Date(clock.getTime() + 60_001);
    expect(await jobs.get(started.backup_id)).toMatchObject({
      status: 'failed',
      error: { code: 'Unavailable' },
    });
  });
});
