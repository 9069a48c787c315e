import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../src/adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../src/ports/kv-store.ts';
import { countingKvStore, totalCalls } from './counting-kv-store.ts';

let dir: string;
let inner: KvStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentstate-bench-counting-'));
  inner = createSqliteKvStore({ path: join(dir, 'kv.sqlite') });
  await inner.init();
});
afterEach(async () => {
  await inner.close();
  await rm(dir, { recursive: true, force: true });
});

describe('countingKvStore', () => {
  it('counts nothing until enabled, then every call by method, failed ones included', async () => {
    const counting = countingKvStore(inner);
    await counting.store.save('a', { n: 1 });
    expect(totalCalls(counting.snapshot())).toBe(0);

    counting.setEnabled(true);
    const etag = await counting.store.save('b', 'xy');
    await counting.store.get('b');
    await counting.store.getBulk(['a', 'b', 'missing']);
    await expect(counting.store.save('b', 'z', { etag: `${etag}-stale` })).rejects.toThrow();
    await counting.store.transact([
      { op: 'save', key: 'c', value: [1, 2] },
      { op: 'delete', key: 'a' },
    ]);
    await counting.store.delete('b');

    expect(counting.snapshot()).toEqual({
      calls: { save: 2, get: 1, getBulk: 1, transact: 1, delete: 1 },
      callsBeforeAnswer: 0,
      beforeAnswerByMethod: {},
      keysRead: 4,
      // "xy" read twice (get, getBulk) and {"n":1} once by getBulk.
      bytesRead: 4 + 4 + 7,
      // "xy" saved, the failed save not, [1,2] in the transaction.
      bytesWritten: 4 + 5,
    });
  });

  it('splits the calls made before an answer from the rest by the predicate it is given', async () => {
    let answering = true;
    const counting = countingKvStore(inner, { beforeAnswer: () => answering });
    counting.setEnabled(true);
    await counting.store.get('a');
    await counting.store.save('a', 1);
    answering = false;
    await counting.store.get('a');
    expect(counting.snapshot()).toMatchObject({
      calls: { get: 2, save: 1 },
      callsBeforeAnswer: 2,
      beforeAnswerByMethod: { get: 1, save: 1 },
    });
  });

  it('starts from zero after reset and stops counting when disabled', async () => {
    const counting = countingKvStore(inner);
    counting.setEnabled(true);
    await counting.store.save('a', 1);
    counting.reset();
    await counting.store.get('a');
    counting.setEnabled(false);
    await counting.store.get('a');
    expect(counting.snapshot()).toEqual({
      calls: { get: 1 },
      callsBeforeAnswer: 0,
      beforeAnswerByMethod: {},
      keysRead: 1,
      bytesRead: 1,
      bytesWritten: 0,
    });
  });

  it('passes what it does not count through to the store', () => {
    const counting = countingKvStore(inner);
    expect(counting.store.traits).toBe(inner.traits);
    expect(counting.store.limits).toBe(inner.limits);
  });
});
