import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../../adapters/embedded/folder-blob-store.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createLargeObjectStore } from '../../storage/large-object-store.ts';
import { codeOf } from '../../testing/error-code.ts';
import { engineRuntimeOf } from '../engine/engine-runtime.ts';
import { createPersistentState } from '../state/persistent-state.ts';
import type { PutCheckpointInput } from './checkpoint-schemas.ts';
import { createCheckpoints } from './checkpoints.ts';

// Checkpoints count toward the agent's one quota, beside its persistent state.

const QUOTA = 6000;
let kv: KvStore;
let dir: string;

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  dir = await mkdtemp(join(tmpdir(), 'checkpoint-quota-'));
});
afterEach(async () => {
  await engineRuntimeOf(kv).background.settle();
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(agent = 'a1') {
  const folder = createFolderBlobStore({ root: dir });
  await folder.init();
  return {
    persistent: createPersistentState(kv, { tenant: 't1', agent, quotaBytes: QUOTA }),
    checkpoints: createCheckpoints(kv, {
      tenant: 't1',
      agent,
      blobs: createLargeObjectStore(folder),
      quotaBytes: QUOTA,
    }),
  };
}

function bigCheckpoint(id: string, bytes: number): PutCheckpointInput {
  return {
    checkpoint_ns: '',
    checkpoint: { id, channel_versions: { a: id } },
    metadata: { padding: 'x'.repeat(bytes) },
    new_channel_values: [],
  };
}

describe('checkpoints: the agent quota', () => {
  it('counts checkpoints with persistent state, refuses what passes it with the API quota error, and frees it on delete', async () => {
    const { persistent, checkpoints } = await open();
    await checkpoints.put('th1', bigCheckpoint('c1', 2500));
    await checkpoints.put('th2', bigCheckpoint('c1', 2500));
    await checkpoints.settle();

    // Persistent state alone would fit; with the checkpoints it does not.
    await expect(persistent.set('k', 'v'.repeat(1500))).rejects.toMatchObject({
      code: 'QuotaExceeded',
      details: { limit: QUOTA },
    });
    // And a checkpoint is refused the same way, writing nothing.
    expect(await codeOf(checkpoints.put('th3', bigCheckpoint('c1', 1500)))).toBe('QuotaExceeded');
    expect((await checkpoints.listThreads({ limit: 10 })).threads.map((t) => t.thread_id).sort()).toEqual([
      'th1',
      'th2',
    ]);

    expect(await checkpoints.deleteThread('th1')).toEqual({ deleted: true });
    await checkpoints.settle();
    await expect(persistent.set('k', 'v'.repeat(1500))).resolves.toMatchObject({ version: 1 });
  });

  it('keeps agents apart', async () => {
    const one = await open('a1');
    const two = await open('a2');
    await one.checkpoints.put('th', bigCheckpoint('c1', 5000));
    await one.checkpoints.settle();
    await expect(two.persistent.set('k', 'v'.repeat(5000))).resolves.toMatchObject({ version: 1 });
  });
});
