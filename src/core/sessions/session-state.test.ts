import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { jsonByteLength, type Json } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf } from '../engine/engine-runtime.ts';
import { recordingWrites } from '../../testing/kv-spies.ts';
import { sessionKeys } from './session-keys.ts';
import { assertSessionInvariants } from './session-invariants.ts';
import { SessionModel } from './session-model.ts';
import type { SessionState } from './session-state.ts';
import { createSessions, type SessionsOptions } from './sessions.ts';

const tenant = 't1';
let clock: number;
let kv: KvStore;
const now = () => new Date(clock);

beforeEach(async () => {
  clock = Date.parse('2030-01-01T00:00:00.000Z');
  kv = createSqliteKvStore({ path: ':memory:', now: () => clock });
  await kv.init();
});
afterEach(() => kv.close());

async function openState(
  options: SessionsOptions = {},
  store: KvStore = kv,
): Promise<{ state: SessionState; id: string }> {
  const sessions = createSessions(store, { now, ...options });
  const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
  return { state: sessions.state(tenant, id), id };
}

/** The bytes the usage shards count, once the background work of the writes so far has run. */
async function usageOf(id: string, generation = 0): Promise<number> {
  await engineRuntimeOf(kv).background.settle();
  const shards = await kv.getBulk(sessionKeys(tenant, id).values(generation).usageShards);
  return [...shards.values()].reduce((sum, entry) => sum + (entry.value as { bytes: number }).bytes, 0);
}

describe('state.session.get, set and delete', () => {
  it('answers the outputs of the spec', async () => {
    const { state } = await openState();
    expect(await state.get('task.current')).toEqual({ value: null, found: false });
    expect(await state.set('task.current', { step: 1 })).toEqual({
      previous_value: null,
      overwritten: false,
    });
    expect(await state.get('task.current')).toEqual({ value: { step: 1 }, found: true });
    expect(await state.set('task.current', { step: 2 })).toEqual({
      previous_value: { step: 1 },
      overwritten: true,
    });
    expect(await state.delete('task.current')).toEqual({ previous_value: { step: 2 }, deleted: true });
    expect(await state.delete('task.current')).toEqual({ previous_value: null, deleted: false });
    expect(await state.get('task.current')).toEqual({ value: null, found: false });
    expect(await state.set('task.current', 3)).toEqual({ previous_value: null, overwritten: false });
  });

  it('keeps every kind of JSON value, null included', async () => {
    const { state } = await openState();
    const values: Json[] = ['text', 0, -1.5, true, false, null, [], [1, 'a', null], {}, { a: { b: [1] } }];
    for (const [i, value] of values.entries()) await state.set(`k${i}`, value);
    for (const [i, value] of values.entries())
      expect(await state.get(`k${i}`)).toEqual({ value, found: true });
    // A stored null is found, and overwriting it says so.
    expect(await state.set('k5', 1)).toEqual({ previous_value: null, overwritten: true });
  });

  it('counts the bytes of live values for the quota', async () => {
    const { state, id } = await openState();
    await state.set('a', 'x'.repeat(10));
    await state.set('b', [1, 2, 3]);
    await state.set('a', 'y');
    await state.delete('b');
    expect(await usageOf(id)).toBe(jsonByteLength('y'));
  });
});

describe('state.session.list', () => {
  it('lists keys sorted, by prefix, page by page', async () => {
    const { state } = await openState();
    for (const key of ['task.b', 'config.x', 'task.a', 'z', 'task.c', 'config.y', 'Task.d'])
      await state.set(key, key);
    await state.delete('z');
    expect(await state.list()).toEqual({
      keys: ['Task.d', 'config.x', 'config.y', 'task.a', 'task.b', 'task.c'],
      count: 6,
    });
    expect(await state.list({ prefix: 'task.' })).toEqual({ keys: ['task.a', 'task.b', 'task.c'], count: 3 });
    expect(await state.list({ prefix: 'none' })).toEqual({ keys: [], count: 0 });
    const first = await state.list({ prefix: 'task.', limit: 2 });
    expect(first).toEqual({ keys: ['task.a', 'task.b'], count: 2, cursor: 'task.b' });
    expect(await state.list({ prefix: 'task.', limit: 2, cursor: first.cursor! })).toEqual({
      keys: ['task.c'],
      count: 1,
    });
  });

  it('lists keys that 16 concurrent writers set', async () => {
    const { state, id } = await openState();
    const model = new SessionModel();
    const keys = Array.from({ length: 16 }, (_, i) => `key.${String(i).padStart(2, '0')}`);
    const results = await Promise.all(keys.map((key) => state.set(key, { key })));
    for (const [i, key] of keys.entries()) model.acknowledgeSet(key, { key }, results[i]!);
    expect((await state.list()).keys).toEqual(keys);
    await assertSessionInvariants(kv, tenant, id, model, { now });
  });

  it('keeps list and get in agreement when sets and deletes of one key race', async () => {
    const { state, id } = await openState();
    for (let round = 0; round < 20; round++) {
      await Promise.all([state.set('k', round), state.delete('k'), state.set('k', -round)]);
      const { found, value } = await state.get('k');
      expect((await state.list()).keys).toEqual(found ? ['k'] : []);
      expect(await usageOf(id)).toBe(found ? jsonByteLength(value) : 0);
    }
  });
});

describe('state.session.clear', () => {
  it('removes every key at once and counts them', async () => {
    const { state, id } = await openState();
    expect(await state.clear()).toEqual({ removed_count: 0 });
    for (const key of ['a', 'b', 'c']) await state.set(key, key);
    await state.delete('b');
    expect(await state.clear()).toEqual({ removed_count: 2 });
    expect(await state.list()).toEqual({ keys: [], count: 0 });
    expect(await state.get('a')).toEqual({ value: null, found: false });
    expect(await state.set('a', 'again')).toEqual({ previous_value: null, overwritten: false });
    expect(await state.list()).toEqual({ keys: ['a'], count: 1 });
    expect(await usageOf(id, 2)).toBe(jsonByteLength('again'));
    // The cleared generations' values are deleted, not just hidden.
    const old = sessionKeys(tenant, id).values(1);
    await engineRuntimeOf(kv).background.settle();
    expect(await kv.getBulk([old.value('a'), old.value('c'), ...old.usageShards])).toEqual(new Map());
  });
});

describe('session quota', () => {
  it('refuses a set past the quota with QuotaExceeded, writing nothing', async () => {
    const { state, id } = await openState({ quotaBytes: 100 });
    await state.set('big', 'x'.repeat(58)); // 60 bytes
    const error = await state.set('more', 'y'.repeat(48)).catch((e: unknown) => e); // 50 bytes
    expect(error).toMatchObject({
      code: 'QuotaExceeded',
      details: { used: 60, limit: 100, requested: 50 },
      recovery: [
        { action: 'delete_unused', description: 'Use state.session.delete to remove unneeded keys.' },
        { action: 'clear', description: 'Use state.session.clear to remove all session state.' },
      ],
    });
    await expect(state.set('big', 'z'.repeat(99))).rejects.toMatchObject({ code: 'QuotaExceeded' });
    expect(await state.list()).toEqual({ keys: ['big'], count: 1 });
    expect(await state.get('more')).toEqual({ value: null, found: false });
    expect(await state.get('big')).toEqual({ value: 'x'.repeat(58), found: true });
    expect(await usageOf(id)).toBe(60);
    expect(await kv.get(sessionKeys(tenant, id).values(0).value('more'))).toBeUndefined();

    // Exactly at the quota fits; shrinking always fits; deleting makes room.
    expect(await state.set('more', 'y'.repeat(38))).toMatchObject({ overwritten: false });
    expect(await usageOf(id)).toBe(100);
    await state.set('big', 'x');
    await state.delete('more');
    await state.set('more', 'y'.repeat(90));
    expect(await usageOf(id)).toBe(95);
  });

  it('recounts a drifted counter before refusing, and corrects it', async () => {
    const { state, id } = await openState({ quotaBytes: 100 });
    // 80 bytes counted that no value takes, before this worker ever read the counter.
    const [shard] = sessionKeys(tenant, id).values(0).usageShards;
    await kv.save(shard!, { bytes: 80, applied: [] });
    await state.set('a', 'x'.repeat(18)); // 20 bytes
    expect(await state.set('b', 'y'.repeat(78))).toEqual({ previous_value: null, overwritten: false });
    expect(await usageOf(id)).toBe(100);
    await expect(state.set('c', 1)).rejects.toMatchObject({ code: 'QuotaExceeded', details: { used: 100 } });
  });

  it('refuses a value larger than a store record with PayloadTooLarge, writing nothing', async () => {
    const small = createSqliteKvStore({ path: ':memory:', now: () => clock, maxValueBytes: 1000 });
    await small.init();
    const recording = recordingWrites(small);
    const { state } = await openState({}, recording.store);
    recording.written.length = 0;
    await expect(state.set('k', 'x'.repeat(1000))).rejects.toMatchObject({ code: 'PayloadTooLarge' });
    expect(recording.written).toEqual([]);
    // A value well below the limit still fits beside its head record's fields.
    await state.set('k', 'x'.repeat(600));
    await small.close();
  });
});

describe('session keys', () => {
  const escaping = ['/', '%2F', 'a||b', '||', 'kv/0/v/x', 'ü/ß', '🙂', '...', 'a/.hidden'];
  const dotSegments = ['../x', '%2e%2e/x', 'a/../../b', '..', '.', 'a/./b', '..\\x', 'a%2F..%2Fb'];

  it('refuses keys with a dot path segment and writes nothing', async () => {
    const recording = recordingWrites(kv);
    const sessions = createSessions(recording.store, { now });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    const state = sessions.state(tenant, id);
    recording.written.length = 0;
    for (const key of dotSegments) {
      await expect(state.set(key, 1)).rejects.toMatchObject({ code: 'InvalidInput' });
      await expect(state.get(key)).rejects.toMatchObject({ code: 'InvalidInput' });
    }
    await expect(state.list({ prefix: '../' })).rejects.toMatchObject({ code: 'InvalidInput' });
    expect(recording.written).toEqual([]);
  });

  it('keeps keys that look like paths opaque and inside the session', async () => {
    const recording = recordingWrites(kv);
    const sessions = createSessions(recording.store, { now });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    const other = await sessions.open({ tenant, agent: 'a' });
    const state = sessions.state(tenant, id);
    recording.written.length = 0;
    for (const key of escaping) await state.set(key, key);
    for (const key of escaping) expect(await state.get(key)).toEqual({ value: key, found: true });
    expect((await state.list()).keys).toEqual([...escaping].sort());
    await state.delete('/');
    await sessions.appendMessage(tenant, id, { role: 'user', content: '../../x' });
    await state.clear();

    const prefix = `${tenant}/s/${id}/`;
    expect(recording.written.length).toBeGreaterThan(escaping.length);
    expect(recording.written.filter((key) => !key.startsWith(prefix))).toEqual([]);
    const neighbour = sessions.state(tenant, other.session_id);
    expect(await neighbour.list()).toEqual({ keys: [], count: 0 });
    for (const key of escaping) expect(await neighbour.get(key)).toEqual({ value: null, found: false });
  });

  it('takes a key of exactly 512 bytes', async () => {
    const { state } = await openState();
    const key = 'é'.repeat(256);
    await state.set(key, 1);
    expect((await state.list()).keys).toEqual([key]);
  });

  it('refuses bad keys, values and list options with InvalidInput, writing nothing', async () => {
    const recording = recordingWrites(kv);
    const { state } = await openState({}, recording.store);
    await state.set('kept', 1);
    recording.written.length = 0;
    const badKeys = [
      '',
      'x'.repeat(513),
      'é'.repeat(257),
      'a\u0000b',
      'line\nbreak',
      'del\u007f',
      'c1\u0085',
      '\ud800',
    ];
    for (const key of badKeys) {
      await expect(state.get(key), JSON.stringify(key)).rejects.toMatchObject({ code: 'InvalidInput' });
      await expect(state.set(key, 1), JSON.stringify(key)).rejects.toMatchObject({ code: 'InvalidInput' });
      await expect(state.delete(key), JSON.stringify(key)).rejects.toMatchObject({ code: 'InvalidInput' });
    }
    for (const value of [Number.NaN, Infinity, undefined, { a: undefined }, [() => 1]] as unknown as Json[])
      await expect(state.set('k', value)).rejects.toMatchObject({ code: 'InvalidInput' });
    for (const options of [
      { limit: 0 },
      { limit: 1001 },
      { limit: 1.5 },
      { prefix: 'a\u0000' },
      { cursor: '' },
      { extra: 1 },
    ])
      await expect(state.list(options as object)).rejects.toMatchObject({ code: 'InvalidInput' });
    expect(recording.written).toEqual([]);
    expect(await state.list()).toEqual({ keys: ['kept'], count: 1 });
  });
});
