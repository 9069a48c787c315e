import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, InjectedCrash } from '../../testing/faulty-kv-store.ts';
import { insertingOnMissingKey } from '../../testing/inserting-cas-kv-store.ts';
import { gatedSave } from '../../testing/kv-spies.ts';
import { createKeyIndex } from './key-index.ts';

/** A store that counts the bytes of every value it reads. */
function countingReads(inner: KvStore): { store: KvStore; bytes: () => number } {
  let total = 0;
  const count = (value: unknown) => (total += Buffer.byteLength(JSON.stringify(value)));
  const store: KvStore = {
    ...inner,
    get: async (key) => {
      const entry = await inner.get(key);
      if (entry !== undefined) count(entry.value);
      return entry;
    },
    getBulk: async (keys) => {
      const found = await inner.getBulk(keys);
      for (const entry of found.values()) count(entry.value);
      return found;
    },
  };
  return { store, bytes: () => total };
}

const namespace = 'tenant/agent/p/';
let kv: KvStore;

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
});
afterEach(() => kv.close());

async function listAll(index: ReturnType<typeof createKeyIndex>, prefix = '', limit = 7): Promise<string[]> {
  const keys: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await index.list({ prefix, limit, ...(after === undefined ? {} : { after }) });
    keys.push(...page.keys);
    if (page.cursor === undefined) return keys;
    after = page.cursor;
  }
}

describe('key index', () => {
  it('lists added keys sorted, filtered by prefix and page by page', async () => {
    const index = createKeyIndex(kv, { namespace });
    for (const key of ['task.b', 'config.x', 'task.a', 'task.c', 'config.y']) await index.add(key);
    await index.add('task.a');
    expect(await listAll(index)).toEqual(['config.x', 'config.y', 'task.a', 'task.b', 'task.c']);
    expect(await listAll(index, 'task.', 2)).toEqual(['task.a', 'task.b', 'task.c']);
    expect(await index.list({ prefix: 'task.', limit: 2 })).toEqual({
      keys: ['task.a', 'task.b'],
      cursor: 'task.b',
    });
    expect(await index.list({ prefix: 'task.', limit: 3 })).toEqual({ keys: ['task.a', 'task.b', 'task.c'] });
    expect(await index.list({ prefix: 'none.' })).toEqual({ keys: [] });
  });

  it('removes keys, and removing an absent key changes nothing', async () => {
    const index = createKeyIndex(kv, { namespace });
    await index.add('a');
    await index.add('b');
    await index.remove('a');
    await index.remove('never');
    expect(await listAll(index)).toEqual(['b']);
    expect(await index.has('a')).toBe(false);
    expect(await index.has('b')).toBe(true);
  });

  it('keeps every key across many leaf splits, in bounded leaves', async () => {
    const index = createKeyIndex(kv, { namespace, maxLeafKeys: 8 });
    const keys = Array.from({ length: 500 }, (_, i) => `key-${String(i).padStart(4, '0')}`);
    for (const key of [...keys].reverse()) await index.add(key);
    expect(await listAll(index, '', 50)).toEqual(keys);
    const directory = (await kv.get(`${namespace}i/d`))?.value as { leaves: { id: string }[] };
    expect(directory.leaves.length).toBeGreaterThan(500 / 8);
    const leaves = await kv.getBulk(directory.leaves.map(({ id }) => `${namespace}i/l/${id}`));
    expect(leaves.size).toBe(directory.leaves.length);
    for (const entry of leaves.values())
      expect((entry.value as { keys: string[] }).keys.length).toBeLessThanOrEqual(8);
  });

  it('reads a page from the leaves that hold it, whatever the size of the namespace', async () => {
    const bytesOfPage = async (size: number) => {
      const ns = `size-${size}/`;
      await createKeyIndex(kv, { namespace: ns }).addMany(
        Array.from({ length: size }, (_, i) => `key-${String(i).padStart(6, '0')}`),
      );
      const { store, bytes } = countingReads(kv);
      const index = createKeyIndex(store, { namespace: ns });
      // The worker's first visit reads the directory, which it then keeps.
      await index.list({ limit: 1 });
      const before = bytes();
      const page = await index.list({ after: 'key-000500', limit: 100 });
      expect(page.keys).toHaveLength(100);
      return bytes() - before;
    };
    const small = await bytesOfPage(1_000);
    const large = await bytesOfPage(20_000);
    expect(large).toBeLessThan(small * 1.3);
  });

  it('a collector removes only what it confirmed, and nothing if a creator touched the leaf since', async () => {
    const index = createKeyIndex(kv, { namespace });
    await index.addMany(['a', 'b', 'c']);
    expect(await index.removeIf(['a', 'b'], async (keys) => keys.filter((key) => key === 'a'))).toEqual({
      rest: [],
      removed: true,
    });
    expect(await listAll(index)).toEqual(['b', 'c']);
    const raced = await index.removeIf(['b'], async (keys) => {
      await createKeyIndex(kv, { namespace }).add('b');
      return keys;
    });
    expect(raced).toEqual({ rest: [], removed: false });
    expect(await listAll(index)).toEqual(['b', 'c']);
  });

  it('keeps namespaces apart', async () => {
    const one = createKeyIndex(kv, { namespace: 't/a1/p/' });
    const two = createKeyIndex(kv, { namespace: 't/a2/p/' });
    await one.add('shared-name');
    expect(await listAll(two)).toEqual([]);
  });

  it('loses no key when 40 writers add and remove concurrently through splits', async () => {
    const index = createKeyIndex(kv, { namespace, maxLeafKeys: 4 });
    const added = Array.from({ length: 40 }, (_, writer) =>
      Array.from({ length: 10 }, (_, i) => `w${writer}-k${i}`),
    );
    await Promise.all(
      added.map(async (keys) => {
        for (const key of keys) await index.add(key);
        await index.remove(keys[0]!);
      }),
    );
    const expected = added.flatMap((keys) => keys.slice(1)).sort();
    expect(await listAll(index, '', 100)).toEqual(expected);
  });

  it('keeps a key whose CAS raced a split, on a store where an ETag write to a missing key inserts', async () => {
    const redisLike = insertingOnMissingKey(kv);
    const index = createKeyIndex(redisLike, { namespace, maxLeafKeys: 2 });
    await index.add('k1');
    const rootLeaf = `${namespace}i/l/0`;
    const gate = gatedSave(
      redisLike,
      (key, value) => key === rootLeaf && JSON.stringify(value).includes('victim'),
    );
    const slow = createKeyIndex(gate.store, { namespace, maxLeafKeys: 2 }).add('victim');
    await gate.reached;
    // Meanwhile the root bucket fills up and splits; the slow writer's ETag is now stale.
    await index.add('k2');
    await index.add('k3');
    gate.release();
    await slow;
    expect(await listAll(index)).toEqual(['k1', 'k2', 'k3', 'victim']);
  });

  it('is correct after a crash at any store operation of an add that splits', async () => {
    const seeded = Array.from({ length: 12 }, (_, i) => `seed-${String(i).padStart(2, '0')}`);
    const seed = async (ns: string) => {
      const faulty = createFaultyKvStore(kv);
      const index = createKeyIndex(faulty, { namespace: ns, maxLeafKeys: 4 });
      for (const key of seeded) await index.add(key);
      faulty.recover();
      return { faulty, index };
    };
    // A victim whose leaf is full, so that adding it splits it and updates the directory.
    let victim = '';
    for (let i = 0; victim === ''; i++) {
      const { faulty, index } = await seed(`probe-${i}/`);
      await index.add(`victim-${i}`);
      if (faulty.operations > 3) victim = `victim-${i}`;
    }
    for (let crashAt = 0; ; crashAt++) {
      for (const applyCutOffWrite of [false, true]) {
        const { faulty, index } = await seed(`crash-${crashAt}-${applyCutOffWrite}/`);
        faulty.crashAfter(crashAt, { applyCutOffWrite });
        let crashed = false;
        try {
          await index.add(victim);
        } catch (error) {
          expect(error).toBeInstanceOf(InjectedCrash);
          crashed = true;
        }
        faulty.recover();
        const afterCrash = await listAll(index, '', 5);
        expect(afterCrash.filter((key) => key !== victim)).toEqual(seeded);
        if (!crashed) expect(afterCrash).toContain(victim);
        // The next writer finishes whatever the crash interrupted.
        await index.add(victim);
        await index.add('after');
        expect(await listAll(index, '', 5)).toEqual([...seeded, 'after', victim].sort());
        if (!crashed && !applyCutOffWrite) {
          expect(crashAt).toBeGreaterThan(3);
          return;
        }
      }
    }
  });
});

describe('key index: an add prepared for a caller to commit', () => {
  it('adds nothing until the caller sends it, and fails the request if the leaf changed meanwhile', async () => {
    const index = createKeyIndex(kv, { namespace, maxLeafKeys: 4 });
    for (const key of ['a', 'b', 'c', 'd']) await index.add(key);
    // The leaf is full: preparing splits it first, and the save lands in the right half.
    const save = await index.prepareAdd('e');
    expect(await index.has('e')).toBe(false);
    await kv.transact([save]);
    expect(await listAll(index)).toEqual(['a', 'b', 'c', 'd', 'e']);

    const stale = await index.prepareAdd('f');
    await index.add('ee');
    await expect(kv.transact([stale])).rejects.toMatchObject({ code: 'VersionConflict' });
    expect(await listAll(index)).toEqual(['a', 'b', 'c', 'd', 'e', 'ee']);
  });
});
