import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCountedStore, type CountedStore } from '../../testing/counted-store.ts';
import { createEngineRuntime } from '../engine/engine-runtime.ts';
import { createPersistentState, type PersistentState } from './persistent-state.ts';

// The store calls each capability makes before it answers (on Dapr each is a sidecar
// round trip). Background work is held until the test lets it run, so what is counted is
// exactly what the caller waited for; a call added to the path fails here.

let counted: CountedStore;
let state: PersistentState;
const callsOf = (call: () => Promise<unknown>) => counted.callsOf(call);

beforeEach(async () => {
  counted = await openCountedStore();
  state = createPersistentState(counted.store, { tenant: 't1', agent: 'a1', runtime: counted.runtime });
});
afterEach(() => counted.close());

describe('persistent state: store calls before the answer', () => {
  it('creates the first key of a namespace in 4, reading the usage shards with its head', async () => {
    expect(await callsOf(() => state.set('first', 1))).toEqual({ calls: 4, keysRead: 19 });
  });

  it('creates in 4, updates in 2, reads in 1 and deletes in 2 once the worker knows the usage', async () => {
    await state.set('seed', 'x');
    expect(await callsOf(() => state.set('k', 1))).toEqual({ calls: 4, keysRead: 2 });
    expect(await callsOf(() => state.set('k', 'a longer value'))).toEqual({ calls: 2, keysRead: 1 });
    expect(await callsOf(() => state.set('k', 'same length...'))).toEqual({ calls: 2, keysRead: 1 });
    expect(await callsOf(() => state.get('k'))).toEqual({ calls: 1, keysRead: 1 });
    expect(await callsOf(() => state.history('k'))).toEqual({ calls: 2, keysRead: 3 });
    expect(await callsOf(() => state.delete('k'))).toEqual({ calls: 2, keysRead: 1 });
    expect(await callsOf(() => state.set('k', 'again'))).toEqual({ calls: 4, keysRead: 2 });
  });

  it('reads one page of a large namespace, not the namespace', async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `key-${String(i).padStart(5, '0')}`);
    await state.load(keys.map((key) => ({ key, value: key })));
    await counted.drain();
    counted.reset();
    const page = await state.list({ limit: 10, cursor: 'key-01000' });
    expect(page.entries.map((entry) => entry.key)).toEqual(keys.slice(1001, 1011));
    const { calls, keysRead } = counted.counts();
    expect(calls).toBeLessThanOrEqual(4);
    // The leaf (or two) that holds the range and the 10 heads, whatever the namespace's size.
    expect(keysRead).toBeLessThanOrEqual(16);
  });
});

describe('persistent state: 128 writers of one agent', () => {
  const writers = Array.from({ length: 128 }, (_, i) => `writer-${i}`);

  it('update distinct keys with no conflict on any record, and usage comes out exact', async () => {
    const runtime = createEngineRuntime();
    const fleet = createPersistentState(counted.store, { tenant: 't1', agent: 'a1', runtime });
    await Promise.all(writers.map((key) => fleet.set(key, 0)));
    await runtime.background.settle();
    counted.reset();
    for (let round = 1; round <= 4; round++) {
      const answers = await Promise.allSettled(writers.map((key) => fleet.set(key, 'x'.repeat(round * 10))));
      expect(answers.filter((answer) => answer.status === 'rejected')).toEqual([]);
      expect(answers.map((answer) => answer.status === 'fulfilled' && answer.value.version)).toEqual(
        writers.map(() => round + 1),
      );
    }
    await runtime.background.settle();
    expect(counted.counts().conflicts).toEqual([]);
    expect(await fleet.usage()).toEqual({ bytes: writers.length * (40 + 2) });
  });

  it('create distinct keys, meeting only on index leaves, and all are listed', async () => {
    const runtime = createEngineRuntime();
    const fleet = createPersistentState(counted.store, { tenant: 't1', agent: 'a1', runtime });
    const answers = await Promise.allSettled(writers.map((key) => fleet.set(key, key)));
    expect(answers.filter((answer) => answer.status === 'rejected')).toEqual([]);
    await runtime.background.settle();
    expect(counted.counts().conflicts.filter((key) => !key.startsWith('t1/a/a1/p/i/l/'))).toEqual([]);
    expect((await fleet.list()).entries.map((entry) => entry.key)).toEqual([...writers].sort());
  });
});
