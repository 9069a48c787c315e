import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../../adapters/embedded/folder-blob-store.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createLargeObjectStore, type LargeObjectStore } from '../../storage/large-object-store.ts';
import { gatedSave } from '../../testing/kv-spies.ts';
import { createEngineRuntime, engineRuntimeOf } from '../engine/engine-runtime.ts';
import { readRawNamespace } from '../engine/engine-invariants.ts';
import { checkpointAgents } from './checkpoint-agents.ts';
import { blobKey, checkpointKey, generationNamespace, writesKey } from './checkpoint-keys.ts';
import type { PutCheckpointInput } from './checkpoint-schemas.ts';
import { createCheckpoints, type CheckpointsOptions } from './checkpoints.ts';

// The sweep runs on the injected clock: "later" is the clock moved on, never a wait.

let kv: KvStore;
let blobs: LargeObjectStore;
let dir: string;
let clock: number;
const now = () => new Date(clock);
const GRACE_MS = 60_000;

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  dir = await mkdtemp(join(tmpdir(), 'thread-sweep-'));
  const folder = createFolderBlobStore({ root: dir });
  await folder.init();
  blobs = createLargeObjectStore(folder);
  // Uploads are stamped by the wall clock; the sweep's clock starts there.
  clock = Date.now();
});
afterEach(async () => {
  await engineRuntimeOf(kv).background.settle();
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

function open(options: Partial<CheckpointsOptions> = {}, store: KvStore = kv) {
  return createCheckpoints(store, {
    tenant: 't1',
    agent: 'a1',
    blobs,
    now,
    sweepGraceMs: GRACE_MS,
    ...options,
  });
}

const text = (value: unknown) => ({ type: 'json', encoding: 'utf8' as const, data: JSON.stringify(value) });
const blobId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function checkpoint(id: string, extra: Partial<PutCheckpointInput> = {}): PutCheckpointInput {
  return {
    checkpoint_ns: '',
    checkpoint: { id, channel_versions: { a: id } },
    metadata: {},
    new_channel_values: [{ channel: 'a', version: id, value: text(id) }],
    ...extra,
  };
}

async function upload(checkpoints: ReturnType<typeof open>, thread: string, blob: string) {
  return checkpoints.uploadBlob(thread, blob, Readable.from([Buffer.from(`bytes of ${blob}`)]));
}

async function liveKeys(thread: string, generation: number, keys: string[]) {
  const raw = await readRawNamespace(kv, generationNamespace('t1', 'a1', thread, generation), keys);
  return {
    live: [...raw.heads.values()].filter((head) => head.deleted !== true).map((head) => head.key),
    usage: raw.usage,
  };
}

describe('checkpoints: the background sweep', () => {
  it('deletes an expired thread nobody reads, with its records and blobs, and releases its usage', async () => {
    const checkpoints = open();
    const { blob, size_bytes } = await upload(checkpoints, 'old', blobId(1));
    await checkpoints.put('old', {
      ...checkpoint('c1'),
      new_channel_values: [{ channel: 'a', version: 'c1', value: { type: 'bytes', blob, size_bytes } }],
      ttl_seconds: 60,
    });
    await checkpoints.putWrites('old', {
      checkpoint_ns: '',
      checkpoint_id: 'c1',
      task_id: 't',
      task_path: '',
      writes: [{ idx: 0, channel: 'a', value: text(1) }],
    });
    await checkpoints.put('kept', checkpoint('c1'));
    await checkpoints.settle();
    const keys = [checkpointKey('', 'c1'), writesKey('', 'c1', 't')];
    expect((await liveKeys('old', 1, keys)).live).toHaveLength(2);

    expect(await checkpoints.sweep()).toEqual({ expired: 0, generations: 0, blobs: 0 });
    clock += 61_000;
    expect((await checkpoints.sweep()).expired).toBe(1);
    await checkpoints.settle();

    expect(await liveKeys('old', 1, keys)).toEqual({ live: [], usage: 0 });
    expect(await blobs.stat(blobKey('t1', 'a1', 'old', blob))).toBeUndefined();
    expect((await checkpoints.listThreads({ limit: 10 })).threads.map((t) => t.thread_id)).toEqual(['kept']);
    expect(await checkpoints.get('kept', { checkpointNs: '' })).toBeDefined();
  });

  it('collects what a putWrites that raced deleteThread left in the ended generation, once the grace passed', async () => {
    const checkpoints = open();
    await checkpoints.put('race', checkpoint('c1'));
    // A worker that has not met the thread reads its live head, then stops before it
    // adds the task's key to the index and commits; the delete and its collection run.
    const gated = gatedSave(kv, (key) => key.includes('/t/race/1/i/l/'));
    const late = open({ runtime: createEngineRuntime() }, gated.store).putWrites('race', {
      checkpoint_ns: '',
      checkpoint_id: 'c1',
      task_id: 'late',
      task_path: '',
      writes: [{ idx: 0, channel: 'a', value: text('late') }],
    });
    await gated.reached;
    expect(await checkpoints.deleteThread('race')).toEqual({ deleted: true });
    await checkpoints.settle();
    gated.release();
    await late;
    await checkpoints.settle();
    const keys = [writesKey('', 'c1', 'late')];
    expect((await liveKeys('race', 1, keys)).live).toEqual(keys);

    // Within the grace, a writer may still be on its way: nothing is collected.
    expect((await checkpoints.sweep()).generations).toBe(0);
    expect((await liveKeys('race', 1, keys)).live).toEqual(keys);
    clock += GRACE_MS + 10_000;
    expect((await checkpoints.sweep()).generations).toBe(1);
    await checkpoints.settle();
    expect(await liveKeys('race', 1, keys)).toEqual({ live: [], usage: 0 });
    // Collected once: the next sweep finds nothing left.
    expect(await checkpoints.sweep()).toEqual({ expired: 0, generations: 0, blobs: 0 });
  });

  it('deletes uploads that no record names once the grace passed, and keeps those a checkpoint or write names', async () => {
    const checkpoints = open();
    const named = await upload(checkpoints, 'th', blobId(1));
    const written = await upload(checkpoints, 'th', blobId(2));
    const orphan = await upload(checkpoints, 'th', blobId(3));
    await checkpoints.put('th', {
      ...checkpoint('c1'),
      new_channel_values: [
        {
          channel: 'a',
          version: 'c1',
          value: { type: 'bytes', blob: named.blob, size_bytes: named.size_bytes },
        },
      ],
    });
    await checkpoints.putWrites('th', {
      checkpoint_ns: '',
      checkpoint_id: 'c1',
      task_id: 't',
      task_path: '',
      writes: [
        {
          idx: 0,
          channel: 'a',
          value: { type: 'bytes', blob: written.blob, size_bytes: written.size_bytes },
        },
      ],
    });
    // A put naming the orphan that fails: it continues a thread that does not exist.
    await expect(
      checkpoints.put('th', {
        ...checkpoint('c2', { parent_checkpoint_id: 'c1' }),
        new_channel_values: [
          { channel: 'a', version: 'c2', value: { type: 'bytes', blob: orphan.blob, size_bytes: 1 } },
        ],
      }),
    ).rejects.toMatchObject({ code: 'InvalidInput' });

    expect((await checkpoints.sweep()).blobs).toBe(0);
    clock += GRACE_MS + 10_000;
    expect((await checkpoints.sweep()).blobs).toBe(1);
    const stat = (blob: string) => blobs.stat(blobKey('t1', 'a1', 'th', blob));
    expect(await stat(orphan.blob)).toBeUndefined();
    expect(await stat(named.blob)).toBeDefined();
    expect(await stat(written.blob)).toBeDefined();
  });

  it('lists the agents that put checkpoints, for a sweep of every agent', async () => {
    await open().put('th', checkpoint('c1'));
    await open({ agent: 'a2' }).put('th', checkpoint('c1'));
    const agents = [];
    for await (const agent of checkpointAgents(kv).list()) agents.push(agent);
    expect(agents).toEqual([
      { tenant: 't1', agent: 'a1' },
      { tenant: 't1', agent: 'a2' },
    ]);
  });
});
