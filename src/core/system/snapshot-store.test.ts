import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../../adapters/embedded/folder-blob-store.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createLargeObjectStore } from '../../storage/large-object-store.ts';
import { AppError } from '../errors.ts';
import { createSystemSnapshotStore } from './snapshot-store.ts';
import { SYSTEM_SNAPSHOT_FORMAT, type SystemSnapshot } from './system-snapshot.ts';

let kv: KvStore;
let blobs: BlobStore;
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentstate-snapshots-'));
  kv = createSqliteKvStore({ path: ':memory:' });
  blobs = createFolderBlobStore({ root });
  await Promise.all([kv.init(), blobs.init()]);
});
afterEach(async () => {
  await Promise.all([kv.close(), blobs.close()]);
  await rm(root, { recursive: true, force: true });
});

const store = (retention = 20, tenant = 't1') =>
  createSystemSnapshotStore(kv, createLargeObjectStore(blobs), tenant, { retention });

function snapshot(id: string, timestamp: string): SystemSnapshot {
  return {
    format: SYSTEM_SNAPSHOT_FORMAT,
    snapshot_id: id,
    timestamp,
    tenant: 't1',
    taken_by: 'ops',
    agents: [],
    resources: {
      tenant: { shared: { used_bytes: 0, quota_bytes: 1 }, persistent_used_bytes: 0 },
      agents: [],
    },
    pending_approvals: [],
    alerts: [],
    health: [],
    state: { scopes: [] },
  };
}

describe('system snapshot ids', () => {
  it('are snap-YYYYMMDDTHHMMSS, unique even when taken in the same second, also concurrently', async () => {
    const second = new Date('2026-03-25T14:00:00.250Z');
    const first = await store().claimId(second);
    expect(first).toBe('snap-20260325T140000');
    const concurrent = await Promise.all(Array.from({ length: 6 }, () => store().claimId(second)));
    expect(new Set([first, ...concurrent]).size).toBe(7);
    expect(concurrent.sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => `snap-20260325T140000-00${n}`));
    // Ids of one second sort after that second's first and before the next second's.
    expect(await store().claimId(new Date('2026-03-25T14:00:01.000Z'))).toBe('snap-20260325T140001');
  });
});

describe('the snapshot store', () => {
  it('lists newest first, loads by id, and keeps the newest within the retention limit', async () => {
    const ids: string[] = [];
    for (const at of ['2026-03-25T14:00:00.000Z', '2026-03-25T14:00:00.500Z', '2026-03-25T14:00:02.000Z']) {
      const id = await store(2).claimId(new Date(at));
      await store(2).save(snapshot(id, at));
      ids.push(id);
      await store(2).prune();
    }
    const listed = await store(2).list();
    expect(listed.map((s) => s.snapshot_id)).toEqual([ids[2], ids[1]]);
    expect(listed[0]?.size_bytes).toBeGreaterThan(0);
    expect((await store(2).load(ids[1]!)).timestamp).toBe('2026-03-25T14:00:00.500Z');
    await expect(store(2).load(ids[0]!)).rejects.toMatchObject({ code: 'SnapshotNotFound' });
  });

  it('answers SnapshotNotFound with the hint to list snapshots for an unknown or malformed id', async () => {
    for (const id of ['snap-20990101T000000', 'snap-before', '../etc/passwd']) {
      const error = await store()
        .load(id)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('SnapshotNotFound');
      expect((error as AppError).recovery.map((hint) => hint.action)).toEqual(['list_snapshots']);
    }
  });

  it("keeps each tenant's snapshots apart", async () => {
    const id = await store().claimId(new Date('2026-03-25T14:00:00Z'));
    await store().save(snapshot(id, '2026-03-25T14:00:00.000Z'));
    expect(await store(20, 't2').list()).toEqual([]);
    await expect(store(20, 't2').load(id)).rejects.toMatchObject({ code: 'SnapshotNotFound' });
  });

  it('answers a blob failure as IoError with the check_disk hint, and lists nothing unfinished', async () => {
    const failing: BlobStore = {
      ...blobs,
      put: async () => {
        throw new AppError('IoError', 'disk full');
      },
    };
    const broken = createSystemSnapshotStore(kv, createLargeObjectStore(failing), 't1');
    const id = await broken.claimId(new Date('2026-03-25T14:00:00Z'));
    const error = await broken.save(snapshot(id, '2026-03-25T14:00:00.000Z')).catch((e: unknown) => e);
    expect((error as AppError).code).toBe('IoError');
    expect((error as AppError).recovery).toEqual([
      { action: 'check_disk', description: 'Use system.health to check disk space.' },
    ]);
    expect(await store().list()).toEqual([]);
  });
});
