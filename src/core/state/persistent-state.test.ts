import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { gatedSave, recordingWrites } from '../../testing/kv-spies.ts';
import { AppError } from '../errors.ts';
import type { Json } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { PersistentModel } from './persistent-model.ts';
import { assertPersistentInvariants } from './persistent-invariants.ts';
import { createPersistentState, type PersistentStateOptions } from './persistent-state.ts';

let kv: KvStore;
let clock: number;
const now = () => new Date((clock += 1000));
const at = (second: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + second * 1000).toISOString();

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  clock = Date.parse('2030-01-01T00:00:00.000Z');
});
afterEach(() => kv.close());

function open(options: Partial<PersistentStateOptions> = {}, store: KvStore = kv) {
  return createPersistentState(store, { tenant: 't1', agent: 'a1', now, ...options });
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

describe('persistent state: get, set and versions', () => {
  it('numbers versions from 1 and answers every field of get and set', async () => {
    const state = open();
    expect(await state.set('config', { threshold: 1 })).toEqual({ version: 1, previous_version: 0 });
    expect(await state.set('config', { threshold: 2 })).toEqual({ version: 2, previous_version: 1 });
    expect(await state.get('config')).toEqual({
      value: { threshold: 2 },
      version: 2,
      found: true,
      created_at: at(1),
      updated_at: at(2),
    });
    expect(await state.get('config', 1)).toEqual({
      value: { threshold: 1 },
      version: 1,
      found: true,
      created_at: at(1),
      updated_at: at(1),
    });
    expect(await state.get('config', 2)).toMatchObject({ value: { threshold: 2 }, version: 2 });
  });

  it('stores any JSON value, null included', async () => {
    const state = open();
    const values: Json[] = [null, 0, 'text', true, [1, [2]], { nested: { deep: ['x'] } }];
    for (const [i, value] of values.entries()) await state.set(`k${i}`, value);
    for (const [i, value] of values.entries()) expect((await state.get(`k${i}`)).value).toEqual(value);
  });

  it('answers KeyNotFound with the spec hints for a missing key or version', async () => {
    const state = open();
    const missing = await state.get('nope').catch((error: unknown) => error);
    expect(missing).toMatchObject({ code: 'KeyNotFound' });
    expect((missing as AppError).recovery.map((hint) => hint.action)).toEqual(['list_keys', 'use_session']);
    await state.set('k', 1);
    expect(await codeOf(state.get('k', 2))).toBe('KeyNotFound');
    expect(await codeOf(state.get('k', 99))).toBe('KeyNotFound');
    expect(await codeOf(state.history('nope'))).toBe('KeyNotFound');
  });

  it('answers history newest first, up to limit, within retention', async () => {
    const state = open({ retention: 3 });
    for (let i = 1; i <= 5; i++) await state.set('k', { i });
    const history = await state.history('k');
    expect(history).toEqual({
      versions: [
        { value: { i: 5 }, version: 5, created_at: at(1), updated_at: at(5) },
        { value: { i: 4 }, version: 4, created_at: at(1), updated_at: at(4) },
        { value: { i: 3 }, version: 3, created_at: at(1), updated_at: at(3) },
      ],
      count: 3,
    });
    expect((await state.history('k', 2)).versions.map((v) => v.version)).toEqual([5, 4]);
    expect((await state.history('k', 1)).count).toBe(1);
    expect((await state.get('k', 3)).value).toEqual({ i: 3 });
    expect(await codeOf(state.get('k', 2))).toBe('KeyNotFound');
    // Pruned versions are gone from the store, not only hidden.
    const records = await kv.getBulk([1, 2, 3, 4].map((v) => `t1/a/a1/p/v/k/${String(v).padStart(12, '0')}`));
    expect([...records.keys()].map((key) => Number(key.slice(-12)))).toEqual([3, 4]);
  });

  it('keeps 100 versions by default', async () => {
    const state = open();
    for (let i = 1; i <= 102; i++) await state.set('k', i);
    const history = await state.history('k');
    expect(history.count).toBe(100);
    expect(history.versions.at(0)?.version).toBe(102);
    expect(history.versions.at(-1)?.version).toBe(3);
  });
});

describe('persistent state: delete', () => {
  it('removes the key and every version, and frees its quota', async () => {
    const state = open({ retention: 3 });
    for (let i = 1; i <= 4; i++) await state.set('k', { i });
    await state.set('other', 'x');
    expect(await state.delete('k')).toEqual({ deleted: true });
    expect(await codeOf(state.get('k'))).toBe('KeyNotFound');
    expect(await codeOf(state.get('k', 3))).toBe('KeyNotFound');
    expect(await codeOf(state.history('k'))).toBe('KeyNotFound');
    expect((await state.list()).entries.map((entry) => entry.key)).toEqual(['other']);
    expect(await state.usage()).toEqual({ bytes: 3 });
    const records = await kv.getBulk([1, 2, 3, 4].map((v) => `t1/a/a1/p/v/k/${String(v).padStart(12, '0')}`));
    expect(records.size).toBe(0);
  });

  it('answers KeyNotFound for a key that does not exist or was deleted', async () => {
    const state = open();
    const error = await state.delete('nope').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'KeyNotFound' });
    expect((error as AppError).recovery.map((hint) => hint.action)).toEqual(['list_keys']);
    await state.set('k', 1);
    await state.delete('k');
    expect(await codeOf(state.delete('k'))).toBe('KeyNotFound');
  });

  it('continues version numbers when a deleted key is written again, with a new history', async () => {
    const state = open();
    await state.set('k', 'a');
    await state.set('k', 'b');
    await state.delete('k');
    expect(await state.set('k', 'c')).toEqual({ version: 3, previous_version: 0 });
    expect(await state.get('k')).toEqual({
      value: 'c',
      version: 3,
      found: true,
      created_at: at(4),
      updated_at: at(4),
    });
    expect(await codeOf(state.get('k', 2))).toBe('KeyNotFound');
    expect((await state.history('k')).versions.map((v) => v.version)).toEqual([3]);
    expect(await state.set('k', 'd')).toEqual({ version: 4, previous_version: 3 });
    expect((await state.history('k')).versions.map((v) => [v.version, v.value])).toEqual([
      [4, 'd'],
      [3, 'c'],
    ]);
  });
});

describe('persistent state: records below the floor', () => {
  const record = (value: Json, version: number) => ({ value, version, created_at: at(0), updated_at: at(0) });

  it('never shows a version of an earlier life, even if its record was left behind', async () => {
    const state = open();
    await state.set('k', 'one');
    await state.set('k', 'two');
    await state.delete('k');
    await state.set('k', 'three');
    await kv.save('t1/a/a1/p/v/k/000000000002', record('two', 2));
    expect(await codeOf(state.get('k', 2))).toBe('KeyNotFound');
    expect((await state.history('k')).versions.map((v) => v.version)).toEqual([3]);
  });

  it('never shows a version beyond retention, even if its record was left behind', async () => {
    const state = open({ retention: 2 });
    for (const value of ['one', 'two', 'three']) await state.set('k', value);
    await kv.save('t1/a/a1/p/v/k/000000000001', record('one', 1));
    expect(await codeOf(state.get('k', 1))).toBe('KeyNotFound');
    expect((await state.history('k')).versions.map((v) => v.version)).toEqual([3, 2]);
  });
});

describe('persistent state: list and query', () => {
  async function seeded() {
    const state = open();
    for (const key of ['task.b', 'config.x', 'task.a', 'task.c', 'config.y', 'tasks'])
      await state.set(key, { key });
    await state.set('task.a', { key: 'task.a', again: true });
    return state;
  }

  it('lists keys sorted with version, size and update time', async () => {
    const state = await seeded();
    const listed = await state.list();
    expect(listed.entries.map((entry) => entry.key)).toEqual([
      'config.x',
      'config.y',
      'task.a',
      'task.b',
      'task.c',
      'tasks',
    ]);
    expect(listed.entries[2]).toEqual({
      key: 'task.a',
      version: 2,
      size_bytes: JSON.stringify({ key: 'task.a', again: true }).length,
      updated_at: at(7),
    });
    expect(listed.count).toBe(6);
    expect(listed.total_size_bytes).toBe(listed.entries.reduce((sum, entry) => sum + entry.size_bytes, 0));
    expect(listed.total_size_bytes).toBe((await state.usage()).bytes);
    expect(listed.cursor).toBeUndefined();
  });

  it('filters by prefix and pages with limit and cursor', async () => {
    const state = await seeded();
    const first = await state.list({ prefix: 'task.', limit: 2 });
    expect(first).toMatchObject({ count: 2, cursor: 'task.b' });
    expect(first.entries.map((entry) => entry.key)).toEqual(['task.a', 'task.b']);
    const second = await state.list({ prefix: 'task.', limit: 2, cursor: 'task.b' });
    expect(second.entries.map((entry) => entry.key)).toEqual(['task.c']);
    expect(second.cursor).toBeUndefined();
    expect(second.total_size_bytes).toBe(JSON.stringify({ key: 'task.c' }).length);
    expect(await state.list({ prefix: 'none.' })).toEqual({ entries: [], count: 0, total_size_bytes: 0 });
  });

  it('fills a page past deleted keys', async () => {
    const state = await seeded();
    await state.delete('config.y');
    await state.delete('task.a');
    const page = await state.list({ limit: 2 });
    expect(page.entries.map((entry) => entry.key)).toEqual(['config.x', 'task.b']);
    expect((await state.list({ limit: 2, cursor: page.cursor! })).entries.map((entry) => entry.key)).toEqual([
      'task.c',
      'tasks',
    ]);
  });

  it('queries full entries by prefix, page by page', async () => {
    const state = await seeded();
    const all = await state.query({ prefix: 'task.' });
    expect(all.count).toBe(3);
    expect(all.entries[0]).toEqual({
      key: 'task.a',
      value: { key: 'task.a', again: true },
      version: 2,
      created_at: at(3),
      updated_at: at(7),
    });
    const first = await state.query({ prefix: '', limit: 4 });
    expect(first.entries.map((entry) => entry.key)).toEqual(['config.x', 'config.y', 'task.a', 'task.b']);
    const rest = await state.query({ prefix: '', limit: 4, cursor: first.cursor! });
    expect(rest).toMatchObject({ count: 2, entries: [{ key: 'task.c' }, { key: 'tasks' }] });
    expect(rest.cursor).toBeUndefined();
  });
});

describe('persistent state: quota', () => {
  it('counts the bytes of live values', async () => {
    const state = open();
    await state.set('a', 'x'.repeat(10)); // 12 bytes of JSON
    await state.set('b', [1, 2]); // 5
    await state.set('a', 'é'); // 4 bytes of UTF-8
    expect(await state.usage()).toEqual({ bytes: 9 });
    await state.delete('b');
    expect(await state.usage()).toEqual({ bytes: 4 });
  });

  it('refuses a write past the quota with QuotaExceeded and writes nothing', async () => {
    const { store, written } = recordingWrites(kv);
    const state = open({ quotaBytes: 20 }, store);
    await state.set('a', 'x'.repeat(8)); // 10 bytes
    written.length = 0;
    const error = await state.set('b', 'y'.repeat(9)).catch((e: unknown) => e); // 11 bytes
    expect(error).toMatchObject({ code: 'QuotaExceeded', details: { used: 10, limit: 20, requested: 11 } });
    expect((error as AppError).recovery.map((hint) => hint.action)).toEqual([
      'delete_unused',
      'request_increase',
    ]);
    // Only the recount may have rewritten the counter, with the same total.
    expect(written.every((key) => key === 't1/a/a1/p/u')).toBe(true);
    expect(await codeOf(state.get('b'))).toBe('KeyNotFound');
    expect(await state.usage()).toEqual({ bytes: 10 });
    expect(await state.set('b', 'y'.repeat(8))).toEqual({ version: 1, previous_version: 0 }); // exactly 20
    expect(await codeOf(state.set('a', 'x'.repeat(9)))).toBe('QuotaExceeded'); // one byte more
    expect(await state.set('a', 'x')).toEqual({ version: 2, previous_version: 1 }); // shrinking always fits
  });

  it('recounts before refusing, so a drifted counter refuses nobody', async () => {
    const state = open({ quotaBytes: 20 });
    await state.set('a', 'x'.repeat(8));
    await kv.save('t1/a/a1/p/u', { bytes: 1000, applied: [] });
    expect(await state.set('b', 'y'.repeat(8))).toEqual({ version: 1, previous_version: 0 });
    expect(await state.usage()).toEqual({ bytes: 20 });
  });
});

describe('persistent state: quota under concurrent writers', () => {
  it('overshoots by at most the writes in flight and keeps the counter exact', async () => {
    const state = open({ quotaBytes: 50 });
    const writes = Array.from({ length: 16 }, (_, i) =>
      state.set(`k${String(i).padStart(2, '0')}`, 'x'.repeat(8)),
    );
    const outcomes = await Promise.allSettled(writes);
    const stored = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    for (const outcome of outcomes)
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'QuotaExceeded' });
    expect(stored).toBeGreaterThanOrEqual(5); // nobody is refused while there is room
    expect(stored * 10).toBeLessThanOrEqual(50 + 15 * 10);
    expect(await state.usage()).toEqual({ bytes: stored * 10 });
    expect((await state.list()).count).toBe(stored);
    // Once the writers are done, the quota holds exactly again.
    expect(await codeOf(state.set('one-more', 'x'.repeat(8)))).toBe('QuotaExceeded');
  });
});

describe('persistent state: bad input writes nothing', () => {
  const badKeys: [string, string][] = [
    ['empty', ''],
    ['513 bytes', 'k'.repeat(513)],
    ['513 bytes of two-byte characters', 'k' + 'é'.repeat(256)],
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['DEL', 'a\u007fb'],
    ['C1 control', 'a\u0085b'],
    ['lone surrogate', 'a\ud800b'],
  ];

  it.each(badKeys)('refuses a key that is %s', async (_, key) => {
    const { store, written } = recordingWrites(kv);
    const state = open({}, store);
    for (const attempt of [state.set(key, 1), state.get(key), state.delete(key), state.history(key)])
      expect(await codeOf(attempt)).toBe('InvalidInput');
    expect(written).toEqual([]);
  });

  it('accepts a key of exactly 512 bytes', async () => {
    const state = open();
    const key = 'é'.repeat(256);
    expect(await state.set(key, 1)).toEqual({ version: 1, previous_version: 0 });
    expect((await state.list()).entries.map((entry) => entry.key)).toEqual([key]);
  });

  it('refuses bad versions, limits, prefixes, cursors and values', async () => {
    const { store, written } = recordingWrites(kv);
    const state = open({}, store);
    const attempts = [
      state.get('k', 0),
      state.get('k', -1),
      state.get('k', 1.5),
      state.history('k', 0),
      state.history('k', 2.5),
      state.list({ limit: 0 }),
      state.list({ limit: 1001 }),
      state.list({ prefix: 'a\u0000' }),
      state.list({ cursor: '' }),
      state.query({ prefix: 'x'.repeat(513) }),
      state.set('k', Number.NaN),
      state.set('k', { nested: [Number.POSITIVE_INFINITY] }),
      state.set('k', { missing: undefined } as unknown as Json),
    ];
    for (const attempt of attempts) expect(await codeOf(attempt)).toBe('InvalidInput');
    expect(written).toEqual([]);
  });

  it('refuses bad tenant and agent ids and options', () => {
    for (const options of [
      { tenant: '../t' },
      { agent: 'a/b' },
      { agent: '' },
      { tenant: 'x'.repeat(64) },
      { retention: 0 },
      { quotaBytes: -1 },
    ])
      expect(() => open(options)).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });

  it('refuses a value too large for the store with PayloadTooLarge and writes nothing', async () => {
    const small = createSqliteKvStore({ path: ':memory:', maxValueBytes: 1000 });
    await small.init();
    const { store, written } = recordingWrites(small);
    const state = open({}, store);
    expect(await codeOf(state.set('k', 'x'.repeat(1000)))).toBe('PayloadTooLarge');
    expect(written).toEqual([]);
    expect(await state.set('k', 'x'.repeat(500))).toEqual({ version: 1, previous_version: 0 });
    await small.close();
  });
});

describe('persistent state: namespaces', () => {
  const escaping = ['||', '/', '%2F', 'a%2Fb', 'a/b', 'a2/p/h/x', 'h/x', '...', '.hidden'];

  it('refuses keys with a dot path segment and writes nothing', async () => {
    const { store, written } = recordingWrites(kv);
    const a = open({ agent: 'a1' }, store);
    for (const key of ['../x', '%2e%2e/x', 'a/../../b', '..', '../../a2/p/h/x', 'a/%2E/b']) {
      expect(await codeOf(a.set(key, 1))).toBe('InvalidInput');
      expect(await codeOf(a.get(key))).toBe('InvalidInput');
      expect(await codeOf(a.delete(key))).toBe('InvalidInput');
    }
    expect(await codeOf(a.list({ prefix: '../' }))).toBe('InvalidInput');
    expect(written).toEqual([]);
  });

  it('keeps keys that try to escape inside their agent namespace', async () => {
    const { store, written } = recordingWrites(kv);
    const a = open({ agent: 'a1' }, store);
    for (const [i, key] of escaping.entries()) await a.set(key, i);
    for (const [i, key] of escaping.entries()) expect((await a.get(key)).value).toBe(i);
    expect((await a.list()).entries.map((entry) => entry.key)).toEqual([...escaping].sort());
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((key) => !key.startsWith('t1/a/a1/p/'))).toEqual([]);
    expect(written.filter((key) => key.includes('||'))).toEqual([]);

    for (const other of [open({ agent: 'a2' }), open({ tenant: 't2', agent: 'a1' })]) {
      expect((await other.list()).entries).toEqual([]);
      for (const key of escaping) expect(await codeOf(other.get(key))).toBe('KeyNotFound');
      expect(await other.usage()).toEqual({ bytes: 0 });
    }
  });
});

describe('persistent state: store failures', () => {
  it('answers DatabaseError when the store cannot read', async () => {
    const state = open();
    await state.set('k', 1);
    const fail = async (): Promise<never> => {
      throw new AppError('DatabaseError', 'disk I/O error');
    };
    const broken = open({}, { ...kv, get: fail, getBulk: fail });
    const attempts = [
      broken.get('k'),
      broken.set('k', 2),
      broken.delete('k'),
      broken.list(),
      broken.query({ prefix: '' }),
      broken.history('k'),
      broken.usage(),
    ];
    for (const attempt of attempts) expect(await codeOf(attempt)).toBe('DatabaseError');
    expect(await state.get('k')).toMatchObject({ value: 1, version: 1 });
  });

  it('answers DatabaseError for a damaged record rather than trusting it', async () => {
    const state = open();
    await state.set('k', 1);
    await kv.save('t1/a/a1/p/h/k', { key: 'k', value: 1, version: 'one' });
    expect(await codeOf(state.get('k'))).toBe('DatabaseError');
    expect(await codeOf(state.list())).toBe('DatabaseError');
    await kv.save('t1/a/a1/p/h/k', {
      key: 'other',
      value: 1,
      version: 1,
      created_at: at(1),
      updated_at: at(1),
      size_bytes: 1,
      pruned_below: 1,
    });
    expect(await codeOf(state.get('k'))).toBe('DatabaseError');
  });
});

describe('persistent state: concurrent writers', () => {
  it('gives 16 concurrent writes of one key versions 1 to 16, all in history', async () => {
    const state = open();
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => state.set('counter', { writer: i })),
    );
    expect(results.map((result) => result.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    expect(new Set(results.map((result) => result.previous_version)).size).toBe(16);
    const history = await state.history('counter');
    expect(history.versions.map((v) => v.version)).toEqual(Array.from({ length: 16 }, (_, i) => 16 - i));
    for (const [writer, result] of results.entries())
      expect(history.versions.find((v) => v.version === result.version)?.value).toEqual({ writer });
    const model = new PersistentModel();
    for (const [writer, result] of [...results.entries()].sort(([, a], [, b]) => a.version - b.version))
      model.acknowledgeSet('counter', { writer }, result);
    await assertPersistentInvariants(kv, 't1', 'a1', model);
  });

  it('lists every key of 16 concurrent creators', async () => {
    const state = open();
    const keys = Array.from({ length: 16 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
    const results = await Promise.all(keys.map((key) => state.set(key, key)));
    const model = new PersistentModel();
    keys.forEach((key, i) => model.acknowledgeSet(key, key, results[i]!));
    expect((await state.list()).entries.map((entry) => entry.key)).toEqual(keys);
    await assertPersistentInvariants(kv, 't1', 'a1', model);
  });

  // The two interleavings of the collector's protocol (`collector.ts`) with a creator of
  // the deleted key: the creator reads the head after the fence (and rewrites the leaf the
  // collector read), or before it (and its commit fails on the fence).
  const head = 't1/a/a1/p/h/k';
  const leaf = (key: string) => key.startsWith('t1/a/a1/p/i/l/');
  const fence = (key: string, value: Json) =>
    key === head && (value as { unindexed?: true }).unindexed === true;

  it('keeps a key listed that is re-created after the collector fenced it', async () => {
    await open().set('k', 1);
    const collecting = gatedSave(kv, leaf);
    const deleter = open({}, collecting.store);
    await deleter.delete('k');
    await collecting.reached; // fenced, about to remove the key from the leaf it read
    expect(await open().set('k', 2)).toEqual({ version: 2, previous_version: 0 });
    collecting.release();
    await deleter.settle();
    expect((await open().list()).entries.map((entry) => [entry.key, entry.version])).toEqual([['k', 2]]);
  });

  it('keeps a key listed whose creator read the head before the collector fenced it', async () => {
    await open().set('k', 1);
    const collecting = gatedSave(kv, fence);
    const creator = gatedSave(
      kv,
      (key, value) => key === head && (value as { deleted?: true }).deleted !== true,
    );
    const deleter = open({}, collecting.store);
    await deleter.delete('k');
    await collecting.reached; // read the leaf, about to fence
    const creating = open({}, creator.store).set('k', 2);
    await creator.reached; // read the tombstone, about to commit on it
    collecting.release();
    await deleter.settle();
    expect(await open().list()).toMatchObject({ entries: [] });
    creator.release();
    expect(await creating).toEqual({ version: 2, previous_version: 0 });
    expect((await open().list()).entries.map((entry) => [entry.key, entry.version])).toEqual([['k', 2]]);
  });

  it('leaves no history record behind that a writer wrote after losing its race to a pruning one', async () => {
    const state = open({ retention: 3 });
    await state.set('k', 1);
    const historyOfOne = 't1/a/a1/p/v/k/000000000001';
    const slow = gatedSave(kv, (key) => key === historyOfOne);
    const late = open({ retention: 3 }, slow.store).set('k', 'late');
    await slow.reached; // read version 1 as the head; about to write its history record
    for (let i = 2; i <= 5; i++) await state.set('k', i); // versions 1 and 2 fall out of retention
    expect(await kv.get(historyOfOne)).toBeUndefined();
    slow.release();
    expect(await late).toEqual({ version: 6, previous_version: 5 });
    expect(await kv.get(historyOfOne)).toBeUndefined();
    expect((await state.history('k')).versions.map((v) => v.value)).toEqual(['late', 5, 4]);
  });

  it('keeps the index right while creators and deleters of the same keys race', async () => {
    const state = open({ retention: 3 });
    const keys = ['a', 'b', 'c', 'd'];
    for (let round = 0; round < 10; round++) {
      await Promise.allSettled(
        keys.flatMap((key) => [state.set(key, round), state.delete(key), state.set(key, -round)]),
      );
      const listed = (await state.list()).entries.map((entry) => entry.key);
      const live = [];
      for (const key of keys) if ((await codeOf(state.get(key))) === 'succeeded') live.push(key);
      expect(listed).toEqual(live);
      const sizes = await state.query({ prefix: '' });
      expect((await state.usage()).bytes).toBe(
        sizes.entries.reduce((sum, entry) => sum + JSON.stringify(entry.value).length, 0),
      );
    }
  });
});
