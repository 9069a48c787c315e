import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/embedded/memory-event-bus.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { AppError, isAppError } from '../errors.ts';
import type { Json } from '../json.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { gatedSave, recordingWrites } from '../../testing/kv-spies.ts';
import { createEngineRuntime } from '../engine/engine-runtime.ts';
import { heldBackground } from '../../testing/held-background.ts';
import { createKeyIndex } from './key-index.ts';
import { assertSharedInvariants } from './shared-invariants.ts';
import { SharedModel } from './shared-model.ts';
import { sharedGetResultSchema, sharedListResultSchema } from './shared-schemas.ts';
import { createSharedState, type SharedStateOptions } from './shared-state.ts';

let kv: KvStore;
let bus: EventBus;
let clock: number;
const base = Date.parse('2030-01-01T00:00:00.000Z');
// One millisecond per reading: every write gets its own time, and no intent is ever
// old enough for another to take it over unless a test moves the clock on.
const now = () => new Date(++clock);
const at = (ms: number) => new Date(base + ms).toISOString();
const MISSING = { value: null, version: 0, found: false, owner_agent: null, updated_at: null };

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  bus = createMemoryEventBus();
  await kv.init();
  clock = base;
});
afterEach(async () => {
  await open().settle();
  await bus.close();
  await kv.close();
});

function open(options: Partial<SharedStateOptions> = {}, store: KvStore = kv) {
  return createSharedState(store, bus, { tenant: 't1', now, ...options });
}

async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the operation to fail');
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'succeeded';
}

describe('shared state: get, set and versions', () => {
  it('answers a key that does not exist with found false and version 0', async () => {
    const answer = await open().get('nothing.here');
    expect(answer).toEqual(MISSING);
    expect(sharedGetResultSchema.parse(answer)).toEqual(MISSING);
  });

  it('creates with expected_version 0, numbers versions from 1 and answers every field', async () => {
    const state = open();
    expect(await state.set('agent-a', 'config', { threshold: 1 }, 0)).toEqual({ version: 1 });
    expect(await state.get('config')).toEqual({
      value: { threshold: 1 },
      version: 1,
      found: true,
      owner_agent: 'agent-a',
      updated_at: at(1),
    });
    expect(await state.set('agent-b', 'config', { threshold: 2 }, 1)).toEqual({ version: 2 });
    const answer = await state.get('config');
    expect(answer).toEqual({
      value: { threshold: 2 },
      version: 2,
      found: true,
      owner_agent: 'agent-b',
      updated_at: at(2),
    });
    expect(sharedGetResultSchema.parse(answer)).toEqual(answer);
  });

  it('stores any JSON value, null included', async () => {
    const state = open();
    const values: Json[] = [null, 0, 'text', true, [1, [2]], { nested: { deep: ['x'] } }];
    for (const [i, value] of values.entries()) await state.set('a1', `k${i}`, value, 0);
    for (const [i, value] of values.entries())
      expect(await state.get(`k${i}`)).toMatchObject({ value, found: true, version: 1 });
  });

  it('refuses to create a live key with VersionConflict carrying the current version, writing nothing', async () => {
    await open().set('a1', 'k', 'one', 0);
    await open().set('a1', 'k', 'two', 1);
    const { store, written } = recordingWrites(kv);
    const error = await failureOf(open({}, store).set('a2', 'k', 'mine', 0));
    expect(error.code).toBe('VersionConflict');
    expect(error.details).toEqual({ key: 'k', expected_version: 0, current_version: 2 });
    expect(error.recovery).toEqual([
      {
        action: 'retry',
        description: 'Re-read the key with state.shared.get and retry with the new version.',
      },
    ]);
    expect(written).toEqual([]);
    expect(await open().get('k')).toMatchObject({ value: 'two', version: 2, owner_agent: 'a1' });
  });

  it('refuses a stale or unknown expected_version, and any version but 0 for a missing key', async () => {
    const state = open();
    for (let version = 0; version < 3; version++) await state.set('a1', 'k', version, version);
    const { store, written } = recordingWrites(kv);
    const writer = open({}, store);
    for (const expected of [1, 2, 4]) {
      const error = await failureOf(writer.set('a2', 'k', 'late', expected));
      expect(error).toMatchObject({ code: 'VersionConflict', details: { current_version: 3 } });
    }
    const missing = await failureOf(writer.set('a2', 'nope', 'x', 1));
    expect(missing.details).toEqual({ key: 'nope', expected_version: 1, current_version: 0 });
    expect(written).toEqual([]);
    expect(await state.set('a2', 'k', 'current', 3)).toEqual({ version: 4 });
  });
});

describe('shared state: delete', () => {
  it('removes the key for every agent and frees its quota', async () => {
    const state = open();
    await state.set('a1', 'k', 'x'.repeat(8), 0);
    await state.set('a1', 'other', 'y', 0);
    expect(await state.delete('a2', 'k')).toEqual({ deleted: true });
    expect(await state.get('k')).toEqual(MISSING);
    expect(await open({ tenant: 't1' }).get('k')).toEqual(MISSING);
    expect((await state.list()).entries.map((entry) => entry.key)).toEqual(['other']);
    expect(await state.usage()).toEqual({ bytes: 3 });
  });

  it('answers KeyNotFound with the spec hint for a key that does not exist, writing nothing', async () => {
    const { store, written } = recordingWrites(kv);
    const state = open({}, store);
    const error = await failureOf(state.delete('a1', 'nope'));
    expect(error.code).toBe('KeyNotFound');
    expect(error.recovery).toEqual([
      { action: 'list_keys', description: 'Use state.shared.list to see available shared keys.' },
    ]);
    expect(written).toEqual([]);
    await state.set('a1', 'k', 1, 0);
    await state.delete('a1', 'k');
    expect(await codeOf(state.delete('a1', 'k'))).toBe('KeyNotFound');
  });

  it('continues version numbers when a deleted key is created again', async () => {
    const state = open();
    await state.set('a1', 'k', 'a', 0);
    await state.set('a1', 'k', 'b', 1);
    await state.delete('a1', 'k');
    const stale = await failureOf(state.set('a2', 'k', 'stale', 2));
    expect(stale.details).toMatchObject({ current_version: 0 });
    expect(await state.set('a2', 'k', 'c', 0)).toEqual({ version: 3 });
    expect(await state.get('k')).toMatchObject({ value: 'c', version: 3, owner_agent: 'a2' });
    expect(await state.set('a1', 'k', 'd', 3)).toEqual({ version: 4 });
  });
});

describe('shared state: list', () => {
  async function seeded() {
    const state = open();
    const writes: [string, string][] = [
      ['a1', 'task.b'],
      ['a2', 'config.x'],
      ['a1', 'task.a'],
      ['a3', 'task.c'],
      ['a2', 'config.y'],
      ['a1', 'tasks'],
    ];
    for (const [agent, key] of writes) await state.set(agent, key, { key }, 0);
    await state.set('a2', 'task.a', { key: 'task.a', again: true }, 1);
    return state;
  }

  it('lists keys sorted with version, size, last writer and update time', async () => {
    const state = await seeded();
    const listed = await state.list();
    expect(sharedListResultSchema.parse(listed)).toEqual(listed);
    expect(listed.entries.map((entry) => [entry.key, entry.owner_agent])).toEqual([
      ['config.x', 'a2'],
      ['config.y', 'a2'],
      ['task.a', 'a2'],
      ['task.b', 'a1'],
      ['task.c', 'a3'],
      ['tasks', 'a1'],
    ]);
    expect(listed.entries[2]).toEqual({
      key: 'task.a',
      version: 2,
      size_bytes: JSON.stringify({ key: 'task.a', again: true }).length,
      owner_agent: 'a2',
      updated_at: at(7),
    });
    expect(listed.count).toBe(6);
    expect(listed.total_size_bytes).toBe(listed.entries.reduce((sum, entry) => sum + entry.size_bytes, 0));
    expect(listed.total_size_bytes).toBe((await state.usage()).bytes);
    expect(listed).not.toHaveProperty('cursor');
  });

  it('filters by prefix and pages with limit and cursor', async () => {
    const state = await seeded();
    const first = await state.list({ prefix: 'task.', limit: 2 });
    expect(first).toMatchObject({ count: 2, cursor: 'task.b' });
    expect(first.entries.map((entry) => entry.key)).toEqual(['task.a', 'task.b']);
    const second = await state.list({ prefix: 'task.', limit: 2, cursor: 'task.b' });
    expect(second.entries.map((entry) => entry.key)).toEqual(['task.c']);
    expect(second).not.toHaveProperty('cursor');
    expect(second.total_size_bytes).toBe(JSON.stringify({ key: 'task.c' }).length);
    expect(await state.list({ prefix: 'none.' })).toEqual({ entries: [], count: 0, total_size_bytes: 0 });
  });

  it('fills a page past deleted keys', async () => {
    const state = await seeded();
    await state.delete('a1', 'config.y');
    await state.delete('a1', 'task.a');
    const page = await state.list({ limit: 2 });
    expect(page.entries.map((entry) => entry.key)).toEqual(['config.x', 'task.b']);
    const rest = await state.list({ limit: 2, cursor: page.cursor! });
    expect(rest.entries.map((entry) => entry.key)).toEqual(['task.c', 'tasks']);
  });
});

describe('shared state: quota', () => {
  it('counts the bytes of live values', async () => {
    const state = open();
    await state.set('a1', 'a', 'x'.repeat(10), 0); // 12 bytes of JSON
    await state.set('a1', 'b', [1, 2], 0); // 5
    await state.set('a2', 'a', 'é', 1); // 4 bytes of UTF-8
    expect(await state.usage()).toEqual({ bytes: 9 });
    await state.delete('a1', 'b');
    expect(await state.usage()).toEqual({ bytes: 4 });
  });

  it('refuses a write past the quota with QuotaExceeded and the spec hints, writing nothing', async () => {
    const { store, written } = recordingWrites(kv);
    const state = open({ quotaBytes: 20 }, store);
    await state.set('a1', 'a', 'x'.repeat(8), 0); // 10 bytes
    await state.settle();
    written.length = 0;
    const error = await failureOf(state.set('a1', 'b', 'y'.repeat(9), 0)); // 11 bytes
    expect(error).toMatchObject({ code: 'QuotaExceeded', details: { used: 10, limit: 20, requested: 11 } });
    expect(error.recovery).toEqual([
      { action: 'delete_unused', description: 'Use state.shared.delete to remove unneeded shared keys.' },
      { action: 'request_increase', description: 'Use alerts.send to request a quota increase.' },
    ]);
    // Only the recount may have rewritten the counter, with the same total.
    expect(written.every((key) => key.startsWith('t1/shared/u/'))).toBe(true);
    expect(await state.get('b')).toEqual(MISSING);
    expect(await state.usage()).toEqual({ bytes: 10 });
    expect(await state.set('a1', 'b', 'y'.repeat(8), 0)).toEqual({ version: 1 }); // exactly 20
    const growth = await failureOf(state.set('a1', 'a', 'x'.repeat(9), 1)); // one byte more
    expect(growth.details).toEqual({ used: 20, limit: 20, requested: 1 });
    expect(await state.set('a1', 'a', 'x', 1)).toEqual({ version: 2 }); // shrinking always fits
  });

  it('recounts before refusing, so a drifted counter refuses nobody', async () => {
    const state = open({ quotaBytes: 20 });
    await state.set('a1', 'a', 'x'.repeat(8), 0);
    await state.settle();
    await kv.save('t1/shared/u/0', { bytes: 1000, applied: [] });
    // Another worker, which has no sum of its own yet, so it reads the drifted one.
    const worker = open({ quotaBytes: 20, runtime: createEngineRuntime() });
    expect(await worker.set('a1', 'b', 'y'.repeat(8), 0)).toEqual({ version: 1 });
    expect(await worker.usage()).toEqual({ bytes: 20 });
  });

  it('allows 500 MiB per tenant by default', async () => {
    const limit = 500 * 1024 * 1024;
    // A head that claims nearly the whole quota, so the test need not store 500 MiB.
    await kv.save('t1/shared/h/big', {
      key: 'big',
      value: 'stands for a large value',
      version: 1,
      since: 1,
      pruned_below: 1,
      created_at: at(0),
      updated_at: at(0),
      size_bytes: limit - 4,
      meta: { owner_agent: 'a1' },
    });
    await createKeyIndex(kv, { namespace: 't1/shared/' }).add('big');
    await kv.save('t1/shared/u/0', { bytes: limit - 4, applied: [] });
    const state = open();
    const error = await failureOf(state.set('a1', 'k', 'abc', 0)); // 5 bytes
    expect(error.details).toEqual({ used: limit - 4, limit, requested: 5 });
    expect(await state.set('a1', 'k', 'ab', 0)).toEqual({ version: 1 }); // 4 bytes: exactly full
  });
});

describe('shared state: bad input writes nothing', () => {
  const badKeys: [string, string][] = [
    ['empty', ''],
    ['513 bytes', 'k'.repeat(513)],
    ['513 bytes of two-byte characters', 'k' + 'é'.repeat(256)],
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['DEL', 'a\u007fb'],
    ['lone surrogate', 'a\ud800b'],
  ];

  it.each(badKeys)('refuses a key that is %s', async (_, key) => {
    const { store, written } = recordingWrites(kv);
    const state = open({}, store);
    for (const attempt of [state.set('a1', key, 1, 0), state.get(key), state.delete('a1', key)])
      expect(await codeOf(attempt)).toBe('InvalidInput');
    expect(written).toEqual([]);
  });

  it('accepts a key of exactly 512 bytes', async () => {
    const state = open();
    const key = 'é'.repeat(256);
    expect(await state.set('a1', key, 1, 0)).toEqual({ version: 1 });
    expect((await state.list()).entries.map((entry) => entry.key)).toEqual([key]);
  });

  it('refuses bad versions, agents, limits, prefixes, cursors and values', async () => {
    const { store, written } = recordingWrites(kv);
    const state = open({}, store);
    const attempts = [
      state.set('a1', 'k', 1, -1),
      state.set('a1', 'k', 1, 1.5),
      state.set('a1', 'k', 1, Number.NaN),
      state.set('a/b', 'k', 1, 0),
      state.set('', 'k', 1, 0),
      state.delete('../a', 'k'),
      state.list({ limit: 0 }),
      state.list({ limit: 1001 }),
      state.list({ limit: 2.5 }),
      state.list({ prefix: 'a\u0000' }),
      state.list({ cursor: '' }),
      state.set('a1', 'k', Number.NaN, 0),
      state.set('a1', 'k', { nested: [Number.POSITIVE_INFINITY] }, 0),
      state.set('a1', 'k', { missing: undefined } as unknown as Json, 0),
    ];
    for (const attempt of attempts) expect(await codeOf(attempt)).toBe('InvalidInput');
    expect(written).toEqual([]);
  });

  it('refuses bad tenant ids and options', () => {
    for (const options of [
      { tenant: '../t' },
      { tenant: 't/u' },
      { tenant: '' },
      { tenant: 'x'.repeat(64) },
      { quotaBytes: -1 },
      { intentGraceMs: 1.5 },
      { intentGraceMs: 5001 },
    ])
      expect(() => open(options)).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });

  it('refuses a value too large for the store with PayloadTooLarge, writing nothing', async () => {
    const small = createSqliteKvStore({ path: ':memory:', maxValueBytes: 1000 });
    await small.init();
    const { store, written } = recordingWrites(small);
    const state = open({}, store);
    expect(await codeOf(state.set('a1', 'k', 'x'.repeat(1000), 0))).toBe('PayloadTooLarge');
    expect(written).toEqual([]);
    expect(await state.set('a1', 'k', 'x'.repeat(500), 0)).toEqual({ version: 1 });
    await small.close();
  });
});

describe('shared state: namespaces and tenants', () => {
  const escaping = ['||', '/', '%2F', 'a/b', 't2/shared/h/x', 'h/x', 'u', '...', '.hidden'];

  it('refuses keys with a dot path segment and writes nothing', async () => {
    const { store, written } = recordingWrites(kv);
    const state = open({}, store);
    for (const key of ['../x', '%2e%2e/x', 'a/../../b', '..', '../../t2/shared/h/x']) {
      expect(await codeOf(state.set('a1', key, 1, 0))).toBe('InvalidInput');
      expect(await codeOf(state.delete('a1', key))).toBe('InvalidInput');
    }
    expect(written).toEqual([]);
  });

  it("keeps keys that try to escape inside the tenant's shared namespace", async () => {
    const { store, written } = recordingWrites(kv);
    const state = open({}, store);
    for (const [i, key] of escaping.entries()) await state.set('a1', key, i, 0);
    for (const [i, key] of escaping.entries()) expect(await state.get(key)).toMatchObject({ value: i });
    expect((await state.list()).entries.map((entry) => entry.key)).toEqual([...escaping].sort());
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((key) => !key.startsWith('t1/shared/') && !key.startsWith('t1/audit/'))).toEqual(
      [],
    );
    expect(written.filter((key) => key.includes('||'))).toEqual([]);
    expect(await state.usage()).toEqual({ bytes: escaping.reduce((sum, _, i) => sum + String(i).length, 0) });
  });

  it("never shows or changes one tenant's keys to another", async () => {
    const t = open();
    for (const [i, key] of escaping.entries()) await t.set('a1', key, i, 0);
    const u = open({ tenant: 't2' });
    expect(await u.list()).toEqual({ entries: [], count: 0, total_size_bytes: 0 });
    for (const key of escaping) {
      expect(await u.get(key)).toEqual(MISSING);
      expect(await codeOf(u.delete('a1', key))).toBe('KeyNotFound');
    }
    expect(await u.usage()).toEqual({ bytes: 0 });
    // Tenant t2 creating the same key makes its own version 1; t1's key is untouched.
    expect(await u.set('a9', '||', 'u', 0)).toEqual({ version: 1 });
    expect(await t.get('||')).toMatchObject({ value: 0, owner_agent: 'a1' });
  });
});

describe('shared state: store failures', () => {
  it('answers DatabaseError when the store cannot read', async () => {
    const state = open();
    await state.set('a1', 'k', 1, 0);
    const fail = async (): Promise<never> => {
      throw new AppError('DatabaseError', 'disk I/O error');
    };
    const broken = open({}, { ...kv, get: fail, getBulk: fail });
    for (const attempt of [
      broken.get('k'),
      broken.set('a1', 'k', 2, 1),
      broken.delete('a1', 'k'),
      broken.list(),
      broken.usage(),
    ])
      expect(await codeOf(attempt)).toBe('DatabaseError');
    expect(await state.get('k')).toMatchObject({ value: 1, version: 1 });
  });

  it('answers DatabaseError for a damaged record rather than trusting it', async () => {
    const state = open();
    await state.set('a1', 'k', 1, 0);
    await kv.save('t1/shared/h/k', { key: 'k', value: 1, version: 'one' });
    expect(await codeOf(state.get('k'))).toBe('DatabaseError');
    expect(await codeOf(state.list())).toBe('DatabaseError');
    expect(await codeOf(state.set('a1', 'k', 2, 1))).toBe('DatabaseError');
    const valid = {
      value: 1,
      version: 1,
      since: 1,
      pruned_below: 1,
      created_at: at(1),
      updated_at: at(1),
      size_bytes: 1,
      meta: { owner_agent: 'a1' },
    };
    await kv.save('t1/shared/h/k', { ...valid, key: 'other' });
    expect(await codeOf(state.get('k'))).toBe('DatabaseError');
    await kv.save('t1/shared/h/k', { ...valid, key: 'k', meta: { owner_agent: '../a' } });
    expect(await codeOf(state.get('k'))).toBe('DatabaseError');
  });
});

describe('shared state: concurrent writers', () => {
  it('lets exactly one of 16 concurrent creators of a key win', async () => {
    const state = open();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => state.set(`a${i}`, 'k', { writer: i }, 0)),
    );
    const won = outcomes.flatMap((outcome, i) =>
      outcome.status === 'fulfilled' ? [{ i, ...outcome.value }] : [],
    );
    expect(won).toHaveLength(1);
    expect(won[0]?.version).toBe(1);
    for (const outcome of outcomes)
      if (outcome.status === 'rejected')
        expect(outcome.reason).toMatchObject({ code: 'VersionConflict', details: { current_version: 1 } });
    await state.settle();
    const model = new SharedModel();
    model.acknowledgeSet(`a${won[0]!.i}`, 'k', { writer: won[0]!.i }, { version: 1 });
    await assertSharedInvariants(kv, bus, 't1', model);
  });

  it('lets exactly one of 16 concurrent updates from the same version win', async () => {
    const state = open();
    await state.set('a0', 'k', 0, 0);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => state.set(`a${i}`, 'k', i + 1, 1)),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toEqual([
      { status: 'fulfilled', value: { version: 2 } },
    ]);
    expect((await state.get('k')).version).toBe(2);
  });

  it('lists every key of 16 concurrent creators', async () => {
    const state = open();
    const keys = Array.from({ length: 16 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((key) => state.set('a1', key, key, 0)));
    await state.settle();
    const model = new SharedModel();
    for (const key of keys) model.acknowledgeSet('a1', key, key, { version: 1 });
    expect((await state.list()).entries.map((entry) => entry.key)).toEqual(keys);
    await assertSharedInvariants(kv, bus, 't1', model);
  });

  // The two interleavings of the argument in `delete`: the deleter's index removal lands
  // after the creator's check (the deleter re-adds), or before it (the creator re-adds).
  const bucket = (key: string) => key.startsWith('t1/shared/i/l/');

  it('keeps a key listed that is created again while its delete is removing it from the index', async () => {
    await open().set('a1', 'k', 1, 0);
    const deleter = gatedSave(kv, bucket);
    const deleting = open({}, deleter.store).delete('a1', 'k');
    await deleter.reached;
    expect(await open().set('a2', 'k', 2, 0)).toEqual({ version: 2 });
    deleter.release();
    await deleting;
    expect((await open().list()).entries.map((entry) => [entry.key, entry.version])).toEqual([['k', 2]]);
  });

  it('keeps a key listed whose creator commits after a delete removed it from the index', async () => {
    await open().set('a1', 'k', 1, 0);
    const deleter = gatedSave(kv, bucket);
    const creator = gatedSave(
      kv,
      (key, value) => key === 't1/shared/h/k' && (value as { deleted?: true }).deleted !== true,
    );
    const deleting = open({}, deleter.store).delete('a1', 'k');
    await deleter.reached;
    const creating = open({}, creator.store).set('a2', 'k', 2, 0);
    await creator.reached;
    deleter.release();
    await deleting;
    creator.release();
    expect(await creating).toEqual({ version: 2 });
    expect((await open().list()).entries.map((entry) => [entry.key, entry.version])).toEqual([['k', 2]]);
  });

  it('keeps list and usage right while creators and deleters of the same keys race', async () => {
    const state = open();
    const keys = ['a', 'b', 'c', 'd'];
    for (let round = 0; round < 10; round++) {
      await Promise.allSettled(
        keys.flatMap((key) => [
          state.set('a1', key, round, 0),
          state.delete('a2', key),
          state.set('a3', key, -round, 0),
        ]),
      );
      const listed = (await state.list()).entries;
      const live = [];
      for (const key of keys) if ((await state.get(key)).found) live.push(key);
      expect(listed.map((entry) => entry.key)).toEqual(live);
      expect((await state.usage()).bytes).toBe(listed.reduce((sum, entry) => sum + entry.size_bytes, 0));
    }
  });
});

/** A store that counts the calls made through it. */
function counting(inner: KvStore) {
  const calls: string[] = [];
  const store: KvStore = {
    ...inner,
    get: (key) => (calls.push('get'), inner.get(key)),
    getBulk: (keys) => (calls.push('getBulk'), inner.getBulk(keys)),
    save: (key, value, options) => (calls.push('save'), inner.save(key, value, options)),
    delete: (key, options) => (calls.push('delete'), inner.delete(key, options)),
    transact: (operations) => (calls.push('transact'), inner.transact(operations)),
  };
  return { store, calls };
}

describe('shared state: store calls before the answer', () => {
  it('takes 1 call for a get, 2 for an update, at most 4 for a create and 3 for a delete', async () => {
    const { store, calls } = counting(kv);
    const { runtime, drain } = heldBackground();
    const state = open({ runtime }, store);
    await state.set('a1', 'warm', 'up', 0);
    await drain();
    const counts: Record<string, number> = {};
    const measure = async (name: string, call: () => Promise<unknown>) => {
      calls.length = 0;
      await call();
      counts[name] = calls.length;
      await drain();
    };
    await measure('create', () => state.set('a1', 'k', 1, 0));
    await measure('update', () => state.set('a1', 'k', 2, 1));
    await measure('get', () => state.get('k'));
    await measure('delete', () => state.delete('a1', 'k'));
    await measure('re-create', () => state.set('a1', 'k', 3, 0));
    // Exactly what the README promises (Storage semantics), so that a call added fails here.
    expect(counts).toEqual({ create: 4, update: 2, get: 1, delete: 2, 're-create': 4 });
    // Everything else followed the answer: events, audit, usage, collection.
    expect(await open().get('k')).toMatchObject({ value: 3, version: 3 });
    expect(await state.usage()).toEqual({ bytes: 4 + 1 });
  });

  it('lets 32 concurrent writers of 32 keys commit without a conflict, on the heads or the usage shards', async () => {
    let usageConflicts = 0;
    const watched: KvStore = {
      ...kv,
      async transact(operations) {
        try {
          await kv.transact(operations);
        } catch (error) {
          if (
            isAppError(error, 'VersionConflict') &&
            operations.some((op) => op.key.startsWith('t1/shared/u/'))
          )
            usageConflicts++;
          throw error;
        }
      },
    };
    const state = open({}, watched);
    const failures: unknown[] = [];
    await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const key = `key-${String(i).padStart(2, '0')}`;
        try {
          for (let version = 0; version < 5; version++) {
            await new Promise((resolve) => setImmediate(resolve));
            await state.set(`agent-${i}`, key, { i, version }, version);
          }
        } catch (error) {
          failures.push(error);
        }
      }),
    );
    await state.settle();
    expect(failures).toEqual([]);
    expect(usageConflicts).toBe(0);
    const model = new SharedModel();
    for (let i = 0; i < 32; i++)
      for (let version = 0; version < 5; version++)
        model.acknowledgeSet(
          `agent-${i}`,
          `key-${String(i).padStart(2, '0')}`,
          { i, version },
          {
            version: version + 1,
          },
        );
    await assertSharedInvariants(kv, bus, 't1', model);
  });
});
