import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../../adapters/embedded/folder-blob-store.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createLargeObjectStore, type LargeObjectStore } from '../../storage/large-object-store.ts';
import { createFaultyKvStore, untilCrash } from '../../testing/faulty-kv-store.ts';
import { createEngineRuntime } from '../engine/engine-runtime.ts';
import type { PutCheckpointInput } from './checkpoint-schemas.ts';
import { createCheckpoints } from './checkpoints.ts';

// A put stopped after every one of its store operations (the cut-off write applied or
// not), on a store whose transactions are atomic and on one whose are not: after the
// restart the thread's latest checkpoint is the old one or the new one, whole, never one
// that is missing, and a put acknowledged before the crash is the latest.

let dir: string;
let blobs: LargeObjectStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'checkpoints-crash-'));
  const folder = createFolderBlobStore({ root: dir });
  await folder.init();
  blobs = createLargeObjectStore(folder);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const open = (store: KvStore) =>
  createCheckpoints(store, {
    tenant: 't1',
    agent: 'a1',
    blobs,
    // Background work of the crashed "process" fails at the crash, as it would.
    runtime: createEngineRuntime(() => {}),
  });

function put(id: string, parent?: string): PutCheckpointInput {
  return {
    checkpoint_ns: '',
    checkpoint: { id, channel_versions: { a: id } },
    metadata: {},
    new_channel_values: [
      { channel: 'a', version: id, value: { type: 'json', encoding: 'utf8', data: `"${id}"` } },
    ],
    ...(parent === undefined ? {} : { parent_checkpoint_id: parent }),
  };
}

describe.each([true, false])('checkpoints: a put that crashes (atomic transactions: %s)', (atomic) => {
  it.each([false, true])(
    'leaves the old or the new checkpoint, whole (cut-off write applied: %s)',
    async (apply) => {
      for (let n = 0; ; n++) {
        const sqlite = createSqliteKvStore({ path: ':memory:' });
        await sqlite.init();
        const kv: KvStore = atomic
          ? sqlite
          : { ...sqlite, traits: { ...sqlite.traits, atomicTransactions: false } };
        try {
          const first = open(kv);
          await first.put('th', put('c1'));
          await first.settle();
          const faulty = createFaultyKvStore(kv);
          const crashing = open(faulty);
          faulty.crashAfter(n, { applyCutOffWrite: apply });
          let acknowledged = false;
          await untilCrash(async () => {
            await crashing.put('th', put('c2', 'c1'));
            acknowledged = true;
          });
          await crashing.settle();
          faulty.recover();

          const restarted = open(kv);
          const latest = await restarted.get('th', { checkpointNs: '' });
          const id = latest?.config.checkpoint_id;
          expect(id === 'c1' || id === 'c2', `after operation ${n}: latest ${id}`).toBe(true);
          if (acknowledged) expect(id).toBe('c2');
          expect(latest?.channel_values['a']).toMatchObject({ data: `"${id}"` });
          const listed = await restarted.list('th', { limit: 10 });
          expect(listed.checkpoints.map((c) => c.config.checkpoint_id)).toContain(id);
          // The thread goes on from whichever it is.
          await restarted.put('th', put('c3', id));
          expect((await restarted.get('th', { checkpointNs: '' }))?.config.checkpoint_id).toBe('c3');
          await restarted.settle();
          if (!faulty.crashed) return;
        } finally {
          await sqlite.close();
        }
      }
    },
  );
});
