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

/** Calls, the round trips among them waited for one after another, and the writes. */
async function callsOf(call: () => Promise<unknown>) {
  await drain();
  counting.reset();
  await call();
  const { calls, waits, byMethod } = counting.counts();
  return { calls, waits, writes: (byMethod['transact'] ?? 0) + (byMethod['save'] ?? 0) };
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

/** SQLite, or SQLite taken for a store whose transactions are not atomic (Redis). */
async function setUp(atomic: boolean) {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  dir = await mkdtemp(join(tmpdir(), 'checkpoint-calls-'));
  const blobs = createFolderBlobStore({ root: dir });
  await blobs.init();
  counting = countingCalls(
    atomic
      ? kv
      : { ...kv, traits: { ...kv.traits, atomicTransactions: false }, transact: (ops) => kv.transact(ops) },
  );
  held = [];
  checkpoints = createCheckpoints(counting.store, {
    tenant: 't1',
    agent: 'a1',
    blobs: createLargeObjectStore(blobs),
    runtime: heldRuntime(),
  });
}
afterEach(async () => {
  await drain();
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

// Where transactions are atomic the index leaf's save goes with the commit; elsewhere
// it is written first, beside the read.
const cases = [
  { store: 'atomic transactions (PostgreSQL, SQLite)', atomic: true, put: { calls: 3, waits: 2, writes: 1 } },
  {
    store: 'transactions that are not atomic (Redis)',
    atomic: false,
    put: { calls: 4, waits: 3, writes: 2 },
  },
];

describe.each(cases)('checkpoints: store calls before the answer, $store', ({ atomic, put: putCalls }) => {
  beforeEach(() => setUp(atomic));

  it('puts a checkpoint in one read and one commit request, beside them the index leaf, and reads one in 4 calls, 5 with pending writes', async () => {
    await checkpoints.put('th', put('c1'));
    await checkpoints.put('th', put('c2', 'c1'));
    // One read of the thread head and the checkpoint's head, beside it the index leaf's
    // read (and write); then one request with the channel values, the checkpoint's
    // record and the thread head's CAS (and the leaf's save).
    expect(await callsOf(() => checkpoints.put('th', put('c3', 'c2')))).toEqual(putCalls);
    // Read the thread head; the checkpoint; its channel values beside its writes' index
    // page (and the heads it lists, when there are any).
    expect(await callsOf(() => checkpoints.get('th', { checkpointNs: '' }))).toEqual({
      calls: 4,
      waits: 3,
      writes: 0,
    });
    await checkpoints.putWrites('th', {
      checkpoint_ns: '',
      checkpoint_id: 'c2',
      task_id: 't',
      task_path: '',
      writes: [{ idx: 0, channel: 'a', value }],
    });
    expect(await callsOf(() => checkpoints.get('th', { checkpointNs: '', checkpointId: 'c2' }))).toEqual({
      calls: 5,
      waits: 4,
      writes: 0,
    });
  });

  it('puts in 4 round trips on a worker that has not met the thread yet, then as usual', async () => {
    await checkpoints.put('th', put('c1'));
    const other = createCheckpoints(counting.store, {
      tenant: 't1',
      agent: 'a1',
      blobs: createLargeObjectStore(createFolderBlobStore({ root: dir })),
      runtime: heldRuntime(),
    });
    // Without the generation the index add waits for the read; beside the read, the
    // worker's one look at the registry of agents with threads (`checkpoint-agents.ts`).
    expect(await callsOf(() => other.put('th', put('c2', 'c1')))).toEqual({ calls: 5, waits: 4, writes: 2 });
    expect(await callsOf(() => other.put('th', put('c3', 'c2')))).toEqual(putCalls);
  });

  it('stores the writes of a task as a put stores a checkpoint', async () => {
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
    // The thread head and the task's head in one read, the index leaf beside it, then
    // the commit; a task that wrote before pays the same.
    expect(await callsOf(() => writes('t1', 0))).toEqual(putCalls);
    expect(await callsOf(() => writes('t1', 1))).toEqual(putCalls);
  });
});
