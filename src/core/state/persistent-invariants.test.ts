import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createKeyIndex } from './key-index.ts';
import { assertPersistentInvariants } from './persistent-invariants.ts';
import { PersistentModel } from './persistent-model.ts';
import { createPersistentState, type PersistentState } from './persistent-state.ts';

// The checker must fail when the state is wrong, or the crash tests prove nothing.

const ns = 't1/a/a1/p/';
let kv: KvStore;
let state: PersistentState;
let model: PersistentModel;

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  state = createPersistentState(kv, { tenant: 't1', agent: 'a1', retention: 3 });
  model = new PersistentModel();
  for (const [key, value] of [
    ['a', 1],
    ['a', 2],
    ['a', 3],
    ['a', 4],
    ['b', 'x'],
    ['c', 'gone'],
  ] as const)
    model.acknowledgeSet(key, value, await state.set(key, value));
  await state.delete('c');
  model.acknowledgeDelete('c');
  await state.settle();
});
afterEach(() => kv.close());

const check = () => assertPersistentInvariants(kv, 't1', 'a1', model, { retention: 3 });

describe('persistent invariants', () => {
  it('hold for a namespace written as acknowledged', async () => {
    await expect(check()).resolves.toBeUndefined();
  });

  it('find a lost write', async () => {
    model.acknowledgeSet('b', 'newer', { version: 2, previous_version: 1 });
    await expect(check()).rejects.toThrow(/"b": get answered .* version 2/);
  });

  it('find a live key missing from list', async () => {
    await createKeyIndex(kv, { namespace: ns }).removeIf(['b'], (keys) => Promise.resolve(keys));
    await expect(check()).rejects.toThrow(/"b": live, but not in the index/);
    await expect(check()).rejects.toThrow(/list answered \["a"\], the live keys are \["a","b"\]/);
  });

  it('find a history record missing within retention', async () => {
    await kv.delete(`${ns}v/a/000000000003`);
    await expect(check()).rejects.toThrow(/"a": history records of versions \[3\] are missing/);
    await expect(check()).rejects.toThrow(/"a": history answered \[4\], expected \[4,3,2\]/);
  });

  it('find history left behind by a delete', async () => {
    await kv.save(`${ns}v/c/000000000001`, {
      value: 'gone',
      version: 1,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });
    await expect(check()).rejects.toThrow(/"c": deleted, but history records \[1\] remain/);
  });

  it('find a usage counter that is not the sum of the live values', async () => {
    const shard = `${ns}u/0`;
    const stored = (await kv.get(shard))?.value as { bytes: number; applied: string[] } | undefined;
    await kv.save(shard, { bytes: (stored?.bytes ?? 0) + 3, applied: stored?.applied ?? [] });
    await expect(check()).rejects.toThrow(/usage counts 7 bytes, the live values take 4/);
  });

  it('find a deleted key that reads as live', async () => {
    model.acknowledgeDelete('b');
    await expect(check()).rejects.toThrow(/"b": deleted, but get finds it/);
  });

  it('find a version that goes backwards or is reused', () => {
    expect(() => model.acknowledgeSet('c', 'again', { version: 1, previous_version: 0 })).toThrow(
      /not above 1/,
    );
    expect(() => model.acknowledgeSet('a', 5, { version: 6, previous_version: 3 })).toThrow(
      /previous_version 3, expected 4/,
    );
  });

  it('refuse an outcome of a crashed write that is neither before nor after it', () => {
    const found = {
      found: true as const,
      created_at: '2030-01-01T00:00:00.000Z',
      updated_at: '2030-01-01T00:00:00.000Z',
    };
    expect(() =>
      model.observe('b', { ...found, value: 'other', version: 2 }, { op: 'set', value: 'mine' }),
    ).toThrow(/crashed set/);
    expect(() => model.observe('b', { ...found, value: 'x', version: 1 }, { op: 'delete' })).not.toThrow();
    expect(() => model.observe('b', undefined, { op: 'set', value: 'mine' })).toThrow(/crashed set/);
    model.observe('c', { ...found, value: 'back', version: 2 }, { op: 'set', value: 'back' });
    expect(model.live.get('c')).toEqual({ value: 'back', version: 2, firstVersion: 2 });
  });
});
