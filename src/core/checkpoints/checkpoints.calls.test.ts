import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../../adapters/embedded/folder-blob-store.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createLargeObjectStore } from '../../storage/large-object-store.ts';
import { countingCalls } from '../../testing/kv-spies.ts';
import { createEngineRuntime, type EngineRuntime } from '../engine/engine-runtime.ts';
import type { PutCheckpointInput } from './checkpoint-schemas.ts';
import { createCheckpoints, type Checkpoints } from './checkpoints.ts';

// The store calls put, putWrites and get make before they answer (on Dapr each is a
// sidecar round trip). Background work waits until the test lets it run, so what is
// counted is exactly what the caller waited for; a call added to the path fails here.

let kv: KvStore;
let dir: string;
let counting: ReturnType<typeof countingCalls>;
let held: (() => Promise<void>)[];
let checkpoints: Checkpoints;

function heldRuntime(): EngineRuntime {
  const inner = createEngineRuntime();
  return {
    background: { ...inner.background, run: (_what, task) => void held.push(task), settle: drain },
    singleton: (kind, namespace, create) => inner.singleton(kind, namespace, create),
  };
}

async function drain(): Promise<void> {
  while (held.length > 0) await Promise.all(held.splice(0).map((task) => task()));
}

async function callsOf(call: () => Promise<unknown>): Promise<number> {
  await drain();
  counting.reset();
  await call();
  return counting.counts().calls;
}

const value = { type: 'json', encoding: 'utf8' as const, data: '"v"' };
function put(id: string, parent?: string): PutCheckpointInput {
  return {
    checkpoint_ns: '',
    checkpoint: { id, channel_versions: { a: id, b: 'c1' } },
    metadata: { step: 1 },
    new_channel_values: [{ channel: 'a', version: id, value }],
    ...(parent === undefined ? {} : { parent_checkpoint_id: parent }),
  };
}

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  dir = await mkdtemp(join(tmpdir(), 'checkpoint-calls-'));
  const blobs = createFolderBlobStore({ root: dir });
  await blobs.init();
  counting = countingCalls(kv);
  held = [];
  checkpoints = createCheckpoints(counting.store, {
    tenant: 't1',
    agent: 'a1',
    blobs: createLargeObjectStore(blobs),
    runtime: heldRuntime(),
  });
});
afterEach(async () => {
  await drain();
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

describe('checkpoints: store calls before the answer', () => {
  it('puts a checkpoint in 8 calls once the thread exists, and reads one in 4, 5 with pending writes', async () => {
    await checkpoints.put('th', put('c1'));
    await checkpoints.put('th', put('c2', 'c1'));
    // Read the thread head; save the changed channel values; the checkpoint's engine
    // create (head read, index leaf read and write, commit); the thread head's engine
    // update (read, commit).
    expect(await callsOf(() => checkpoints.put('th', put('c3', 'c2')))).toBe(8);
    // Read the thread head; the checkpoint; its channel values; its writes' index page
    // (and the heads it lists, when there are any).
    expect(await callsOf(() => checkpoints.get('th', { checkpointNs: '' }))).toBe(4);
    await checkpoints.putWrites('th', {
      checkpoint_ns: '',
      checkpoint_id: 'c2',
      task_id: 't',
      task_path: '',
      writes: [{ idx: 0, channel: 'a', value }],
    });
    expect(await callsOf(() => checkpoints.get('th', { checkpointNs: '', checkpointId: 'c2' }))).toBe(5);
  });

  it('stores the writes of a task in 6 calls, 4 when the task wrote before', async () => {
    await checkpoints.put('th', put('c1'));
    await checkpoints.putWrites('th', {
      checkpoint_ns: '',
      checkpoint_id: 'c1',
      task_id: 'seed',
      task_path: '',
      writes: [{ idx: 0, channel: 'a', value }],
    });
    const writes = (task: string, idx: number) =>
      checkpoints.putWrites('th', {
        checkpoint_ns: '',
        checkpoint_id: 'c1',
        task_id: task,
        task_path: '',
        writes: [{ idx, channel: 'a', value }],
      });
    expect(await callsOf(() => writes('t1', 0))).toBe(6);
    expect(await callsOf(() => writes('t1', 1))).toBe(4);
  });
});
