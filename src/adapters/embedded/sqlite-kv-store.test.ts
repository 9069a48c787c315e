import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAppError } from '../../testing/conformance/assertions.ts';
import { migrations } from './sqlite-migrations.ts';
import { createSqliteKvStore } from './sqlite-kv-store.ts';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentstate-sqlite-'));
  path = join(dir, 'nested', 'kv.sqlite');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('createSqliteKvStore', () => {
  it('lets exactly one of several processes create a key, and loses no CAS increment between them', async () => {
    const setup = createSqliteKvStore({ path });
    await setup.init();
    await setup.save('counter', 0);
    const processes = 4;
    const increments = 40;
    const fixture = fileURLToPath(new URL('./test-fixtures/kv-contender.ts', import.meta.url));
    const children = Array.from({ length: processes }, () =>
      fork(fixture, [path, String(increments)], { stdio: 'inherit' }),
    );
    const results = children.map(
      (child) =>
        new Promise<{ created: boolean }>((resolve, reject) => {
          child.on('message', (message) => {
            if (typeof message === 'object') resolve(message as { created: boolean });
          });
          child.on('exit', (code) => reject(new Error(`contender exited with ${code} before reporting`)));
        }),
    );
    // Start them together, once every one has the file open.
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
    for (const child of children) child.send('go');

    const outcomes = await Promise.all(results);
    expect(outcomes.filter((outcome) => outcome.created)).toHaveLength(1);
    expect((await setup.get('counter'))?.value).toBe(processes * increments);
    await setup.close();
  }, 60_000);

  it('reads an expired key as absent everywhere and removes its row later', async () => {
    let now = 1_000_000;
    const store = createSqliteKvStore({ path, now: () => now });
    await store.init();
    const etag = await store.save('session', 'alive', { ttlSeconds: 10 });
    now += 9_999;
    expect((await store.get('session'))?.value).toBe('alive');
    now += 1;
    expect(await store.get('session')).toBeUndefined();
    expect((await store.getBulk(['session'])).size).toBe(0);
    await expectAppError(store.save('session', 'cas', { etag }), 'VersionConflict');
    await expectAppError(store.delete('session', { etag }), 'VersionConflict');
    expect(rowCount(path, 'session')).toBe(1);

    now += 60_000;
    await store.save('unrelated', 1);
    expect(rowCount(path, 'session')).toBe(0);
    await store.close();
  });

  it('never hands out an ETag twice, not even after a delete or from another connection', async () => {
    const first = createSqliteKvStore({ path });
    const second = createSqliteKvStore({ path });
    await Promise.all([first.init(), second.init()]);
    const etags = [await first.save('k', 1)];
    await first.delete('k');
    etags.push(await second.save('k', 1), await first.save('other', 1), await second.save('k', 2));
    expect(new Set(etags).size).toBe(etags.length);
    await Promise.all([first.close(), second.close()]);
  });

  it('keeps its data across reopening and records the schema version', async () => {
    const store = createSqliteKvStore({ path });
    await store.init();
    await store.save('kept', { n: 1 });
    await store.close();
    await store.init();
    expect((await store.get('kept'))?.value).toEqual({ n: 1 });
    await store.close();
    expect(userVersion(path)).toBe(migrations.length);
  });

  it('refuses a file from a newer release with IncompatibleVersion', async () => {
    const store = createSqliteKvStore({ path });
    await store.init();
    await store.close();
    const db = new Database(path);
    db.pragma(`user_version = ${migrations.length + 1}`);
    db.close();
    await expectAppError(store.init(), 'IncompatibleVersion');
  });

  it('answers DatabaseError when the file cannot be opened or the store is not open', async () => {
    await expectAppError(createSqliteKvStore({ path: dir }).init(), 'DatabaseError');
    const store = createSqliteKvStore({ path });
    await expectAppError(store.get('k'), 'DatabaseError');
    await store.init();
    await store.close();
    await expectAppError(store.save('k', 1), 'DatabaseError');
  });

  it('refuses a TTL that is not a positive whole number of seconds with InvalidInput', async () => {
    const store = createSqliteKvStore({ path: ':memory:' });
    await store.init();
    for (const ttlSeconds of [0, -1, 1.5, Number.NaN]) {
      await expectAppError(store.save('k', 1, { ttlSeconds }), 'InvalidInput');
    }
    expect(await store.get('k')).toBeUndefined();
    await store.close();
  });
});

function rowCount(file: string, key: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return Number(db.prepare('SELECT count(*) FROM kv WHERE key = ?').pluck().get(key));
  } finally {
    db.close();
  }
}

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return Number(db.pragma('user_version', { simple: true }));
  } finally {
    db.close();
  }
}
