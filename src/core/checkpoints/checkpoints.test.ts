import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../../adapters/embedded/folder-blob-store.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createLargeObjectStore, type LargeObjectStore } from '../../storage/large-object-store.ts';
import { recordingWrites } from '../../testing/kv-spies.ts';
import { engineRuntimeOf } from '../engine/engine-runtime.ts';
import type { PutCheckpointInput } from './checkpoint-schemas.ts';
import { createCheckpoints, type CheckpointsOptions } from './checkpoints.ts';
import { codeOf } from '../../testing/error-code.ts';

let kv: KvStore;
let blobs: LargeObjectStore;
let dir: string;
let clock: number;
const now = () => new Date(clock);

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  dir = await mkdtemp(join(tmpdir(), 'checkpoints-'));
  const folder = createFolderBlobStore({ root: dir });
  await folder.init();
  blobs = createLargeObjectStore(folder);
  clock = Date.parse('2030-01-01T00:00:00.000Z');
});
afterEach(async () => {
  await engineRuntimeOf(kv).background.settle();
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

function open(options: Partial<CheckpointsOptions> = {}, store: KvStore = kv) {
  return createCheckpoints(store, { tenant: 't1', agent: 'a1', blobs, now, ...options });
}

const text = (value: unknown) => ({ type: 'json', encoding: 'utf8' as const, data: JSON.stringify(value) });

function checkpoint(
  id: string,
  versions: Record<string, number | string>,
  changed: Record<string, unknown> = {},
  extra: Partial<PutCheckpointInput> = {},
): PutCheckpointInput {
  return {
    checkpoint_ns: '',
    checkpoint: { id, v: 4, ts: '2030-01-01T00:00:00.000Z', channel_versions: versions, versions_seen: {} },
    metadata: { source: 'loop', step: Number(id.slice(-1)) },
    new_channel_values: Object.entries(changed).map(([channel, value]) => ({
      channel,
      version: versions[channel] ?? 0,
      value: text(value),
    })),
    ...extra,
  };
}

describe('checkpoints', () => {
  it('stores the channels a checkpoint changed and reads the others from where they were written', async () => {
    const checkpoints = open();
    await checkpoints.put('th', checkpoint('c1', { a: 1, b: 1 }, { a: 'A1', b: 'B1' }));
    await checkpoints.put(
      'th',
      checkpoint('c2', { a: 2, b: 1 }, { a: 'A2' }, { parent_checkpoint_id: 'c1' }),
    );
    const latest = await checkpoints.get('th', { checkpointNs: '' });
    expect(latest?.config).toEqual({ thread_id: 'th', checkpoint_ns: '', checkpoint_id: 'c2' });
    expect(latest?.parent_checkpoint_id).toBe('c1');
    expect(latest?.channel_values).toEqual({ a: text('A2'), b: text('B1') });
    const first = await checkpoints.get('th', { checkpointNs: '', checkpointId: 'c1' });
    expect(first?.channel_values).toEqual({ a: text('A1'), b: text('B1') });
    expect(await checkpoints.get('th', { checkpointNs: 'sub' })).toBeUndefined();
    expect(await checkpoints.get('other', { checkpointNs: '' })).toBeUndefined();
  });

  it('keeps pending writes in task path, task id and index order, the first of a regular index winning', async () => {
    const checkpoints = open();
    await checkpoints.put('th', checkpoint('c1', {}));
    const write = (task_id: string, task_path: string, idx: number, value: string) =>
      checkpoints.putWrites('th', {
        checkpoint_ns: '',
        checkpoint_id: 'c1',
        task_id,
        task_path,
        writes: [{ idx, channel: 'ch', value: text(value) }],
      });
    await write('t2', 'b', 0, 'second');
    await write('t1', 'b', 1, 'first-1');
    await write('t1', 'b', 0, 'first-0');
    await write('t0', 'a', 0, 'zeroth');
    await write('t1', 'b', 0, 'ignored');
    await write('t0', 'a', -1, 'error');
    await write('t0', 'a', -1, 'error again');
    const tuple = await checkpoints.get('th', { checkpointNs: '', checkpointId: 'c1' });
    expect(
      tuple?.pending_writes.map((w) => [
        w.task_id,
        w.idx,
        JSON.parse('data' in w.value ? w.value.data : '') as unknown,
      ]),
    ).toEqual([
      ['t0', -1, 'error again'],
      ['t0', 0, 'zeroth'],
      ['t1', 0, 'first-0'],
      ['t1', 1, 'first-1'],
      ['t2', 0, 'second'],
    ]);
  });

  it('lists newest first, before an id, by metadata, one page at a time', async () => {
    const checkpoints = open();
    for (const id of ['c1', 'c2', 'c3', 'c4', 'c5'])
      await checkpoints.put('th', {
        ...checkpoint(id, {}),
        metadata: { source: id === 'c1' ? 'input' : 'loop' },
      });
    const ids = (page: { checkpoints: { config: { checkpoint_id: string } }[] }) =>
      page.checkpoints.map((t) => t.config.checkpoint_id);
    const first = await checkpoints.list('th', { limit: 2 });
    expect(ids(first)).toEqual(['c5', 'c4']);
    const second = await checkpoints.list('th', {
      limit: 2,
      ...(first.cursor === undefined ? {} : { cursor: first.cursor }),
    });
    expect(ids(second)).toEqual(['c3', 'c2']);
    expect(ids(await checkpoints.list('th', { limit: 10, checkpointNs: '', before: 'c3' }))).toEqual([
      'c2',
      'c1',
    ]);
    expect(ids(await checkpoints.list('th', { limit: 10, filter: { source: 'input' } }))).toEqual(['c1']);
    expect(ids(await checkpoints.list('th', { limit: 10, checkpointNs: 'sub' }))).toEqual([]);
  });

  it('refuses a late put or putWrites after deleteThread, writing nothing, and a new life starts empty', async () => {
    const checkpoints = open();
    await checkpoints.put('th', checkpoint('c1', { a: 1 }, { a: 'A' }));
    expect(await checkpoints.deleteThread('th')).toEqual({ deleted: true });
    await checkpoints.settle();
    const { store, written } = recordingWrites(kv);
    const late = open({}, store);
    expect(
      await codeOf(late.put('th', checkpoint('c2', { a: 2 }, { a: 'late' }, { parent_checkpoint_id: 'c1' }))),
    ).toBe('KeyNotFound');
    expect(
      await codeOf(
        late.putWrites('th', {
          checkpoint_ns: '',
          checkpoint_id: 'c1',
          task_id: 't',
          task_path: '',
          writes: [{ idx: 0, channel: 'a', value: text('late') }],
        }),
      ),
    ).toBe('KeyNotFound');
    expect(written).toEqual([]);
    expect(await late.get('th', { checkpointNs: '' })).toBeUndefined();
    await late.put('th', checkpoint('c3', { a: 3 }, { a: 'new life' }));
    const tuple = await late.get('th', { checkpointNs: '' });
    expect(tuple?.config.checkpoint_id).toBe('c3');
    expect(await late.get('th', { checkpointNs: '', checkpointId: 'c1' })).toBeUndefined();
  });

  it('expires a thread its TTL after its last write, unless a read with refresh_ttl restarted it', async () => {
    const checkpoints = open({ defaultTtlSeconds: 60 });
    await checkpoints.put('kept', checkpoint('c1', {}));
    await checkpoints.put('dropped', checkpoint('c1', {}));
    await checkpoints.put('forever', checkpoint('c1', {}, {}, { ttl_seconds: 0 }));
    clock += 50_000;
    expect(await checkpoints.get('kept', { checkpointNs: '', refreshTtl: true })).toBeDefined();
    clock += 50_000;
    expect(await checkpoints.get('kept', { checkpointNs: '' })).toBeDefined();
    expect(await checkpoints.get('dropped', { checkpointNs: '' })).toBeUndefined();
    expect(await checkpoints.get('forever', { checkpointNs: '' })).toBeDefined();
    await checkpoints.settle();
    expect((await checkpoints.listThreads({ limit: 10 })).threads.map((t) => t.thread_id).sort()).toEqual([
      'forever',
      'kept',
    ]);
    expect(
      await codeOf(
        checkpoints.putWrites('dropped', {
          checkpoint_ns: '',
          checkpoint_id: 'c1',
          task_id: 't',
          task_path: '',
          writes: [{ idx: 0, channel: 'a', value: text(1) }],
        }),
      ),
    ).toBe('KeyNotFound');
  });

  it('lists threads newest first, page by page, without deleted ones', async () => {
    const checkpoints = open();
    for (const thread of ['t1', 't2', 't3', 't4']) {
      clock += 1000;
      await checkpoints.put(thread, checkpoint('c1', {}));
    }
    await checkpoints.deleteThread('t3');
    await checkpoints.settle();
    const first = await checkpoints.listThreads({ limit: 2 });
    expect(first.threads.map((t) => t.thread_id)).toEqual(['t4', 't2']);
    const second = await checkpoints.listThreads({
      limit: 2,
      ...(first.cursor === undefined ? {} : { cursor: first.cursor }),
    });
    expect(second.threads.map((t) => t.thread_id)).toEqual(['t1']);
    expect(second.cursor).toBeUndefined();
  });

  it('copies a thread with its channel values and writes, refusing a target that exists', async () => {
    const checkpoints = open();
    await checkpoints.put('src', checkpoint('c1', { a: 1 }, { a: 'A1' }));
    await checkpoints.put('src', checkpoint('c2', { a: 2 }, { a: 'A2' }, { parent_checkpoint_id: 'c1' }));
    await checkpoints.putWrites('src', {
      checkpoint_ns: '',
      checkpoint_id: 'c2',
      task_id: 't',
      task_path: 'p',
      writes: [{ idx: 0, channel: 'a', value: text('w') }],
    });
    expect(await checkpoints.copyThread('src', 'dst')).toEqual({ thread_id: 'dst', checkpoints: 2 });
    const copied = await checkpoints.get('dst', { checkpointNs: '' });
    const original = await checkpoints.get('src', { checkpointNs: '' });
    expect(copied).toEqual({ ...original, config: { ...original?.config, thread_id: 'dst' } });
    expect(await codeOf(checkpoints.copyThread('src', 'dst'))).toBe('IdConflict');
  });

  it('keeps the last N checkpoints per namespace when retention is set, with the values they need', async () => {
    const checkpoints = open({ retention: 2 });
    await checkpoints.put('th', checkpoint('c1', { a: 1, b: 1 }, { a: 'A1', b: 'B1' }));
    await checkpoints.put('th', checkpoint('c2', { a: 2, b: 1 }, { a: 'A2' }));
    await checkpoints.put('th', checkpoint('c3', { a: 3, b: 1 }, { a: 'A3' }));
    await checkpoints.settle();
    const page = await checkpoints.list('th', { limit: 10 });
    expect(page.checkpoints.map((t) => t.config.checkpoint_id)).toEqual(['c3', 'c2']);
    expect(page.checkpoints[1]?.channel_values).toEqual({ a: text('A2'), b: text('B1') });
  });

  it('round-trips a value offloaded to the blob store, untruncated', async () => {
    const checkpoints = open();
    const bytes = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251);
    const uploaded = await checkpoints.uploadBlob(
      'th',
      '6f1c1a5e-8f0b-4a39-9a7e-2d9f0f0a9b11',
      (async function* () {
        yield bytes;
      })(),
    );
    await checkpoints.put('th', {
      ...checkpoint('c1', { big: 1 }),
      new_channel_values: [
        {
          channel: 'big',
          version: 1,
          value: { type: 'bytes', blob: uploaded.blob, size_bytes: uploaded.size_bytes },
        },
      ],
    });
    const tuple = await checkpoints.get('th', { checkpointNs: '' });
    const value = tuple?.channel_values['big'];
    expect(value && 'blob' in value ? value.size_bytes : 0).toBe(bytes.length);
    const parts: Uint8Array[] = [];
    for await (const part of checkpoints.readBlob('th', uploaded.blob)) parts.push(part);
    expect(Buffer.concat(parts).equals(Buffer.from(bytes))).toBe(true);
    const refused = recordingWrites(kv);
    expect(
      await codeOf(
        open({}, refused.store).put('th', {
          ...checkpoint('c2', { big: 2 }),
          new_channel_values: [
            {
              channel: 'big',
              version: 2,
              value: { type: 'bytes', blob: '00000000-0000-4000-8000-000000000000', size_bytes: 1 },
            },
          ],
        }),
      ),
    ).toBe('InvalidInput');
    expect(refused.written).toEqual([]);
  });
});
