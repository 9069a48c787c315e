import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateStore } from '../../src/langgraph/index.ts';
import { itemKey, parseItemKey } from '../../src/langgraph/store-keys.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

// Issue 10: LangGraph's BaseStore on agentstate's persistent and shared state.

let w: TestWorker;
let token: string;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
  token = await w.token('acme', 'memory-agent', ['agent']);
}, 60_000);
afterAll(async () => w?.close());

describe('AgentStateStore', () => {
  for (const scope of ['persistent', 'shared'] as const)
    it(`puts, gets, searches, lists namespaces and deletes on ${scope} state`, async () => {
      const store = new AgentStateStore({ url: w.worker.url, token, scope });
      const ns = [`mem-${scope}`, 'user-1'];
      await store.put(ns, 'likes', { topic: 'tea', rank: 1 });
      await store.put(ns, 'dislikes', { topic: 'noise', rank: 3 });
      await store.put([...ns, 'facts'], 'city', { topic: 'Lyon', rank: 2 });
      await store.put([`mem-${scope}`, 'user-2'], 'likes', { topic: 'coffee', rank: 1 });
      await store.put(ns, 'likes', { topic: 'green tea', rank: 1 });

      const item = await store.get(ns, 'likes');
      expect(item).toMatchObject({ namespace: ns, key: 'likes', value: { topic: 'green tea', rank: 1 } });
      expect(item?.updatedAt).toBeInstanceOf(Date);
      expect(await store.get(ns, 'missing')).toBeNull();

      const all = await store.search(ns);
      expect(all.map((found) => found.key).sort()).toEqual(['city', 'dislikes', 'likes']);
      expect((await store.search(ns, { filter: { rank: 1 } })).map((found) => found.key)).toEqual(['likes']);
      expect(
        (await store.search(ns, { filter: { rank: { $gte: 2 } } })).map((found) => found.key).sort(),
      ).toEqual(['city', 'dislikes']);
      const firstTwo = await store.search(ns, { limit: 2 });
      const rest = await store.search(ns, { limit: 2, offset: 2 });
      expect(firstTwo).toHaveLength(2);
      expect(rest).toHaveLength(1);
      expect([...firstTwo, ...rest].map((found) => found.key).sort()).toEqual(['city', 'dislikes', 'likes']);

      expect(await store.listNamespaces({ prefix: [`mem-${scope}`] })).toEqual([
        [`mem-${scope}`, 'user-1'],
        [`mem-${scope}`, 'user-1', 'facts'],
        [`mem-${scope}`, 'user-2'],
      ]);
      expect(await store.listNamespaces({ prefix: [`mem-${scope}`], maxDepth: 2 })).toEqual([
        [`mem-${scope}`, 'user-1'],
        [`mem-${scope}`, 'user-2'],
      ]);
      expect(await store.listNamespaces({ suffix: ['facts'] })).toEqual([
        [`mem-${scope}`, 'user-1', 'facts'],
      ]);

      await store.delete(ns, 'dislikes');
      await store.delete(ns, 'never-there');
      expect(await store.get(ns, 'dislikes')).toBeNull();
      const [got, searched] = await store.batch([
        { namespace: ns, key: 'likes' },
        { namespacePrefix: ns, limit: 10, offset: 0 },
      ] as const);
      expect(got?.value).toEqual({ topic: 'green tea', rank: 1 });
      expect(searched.map((found) => found.key).sort()).toEqual(['city', 'likes']);
    });

  it('maps namespaces and keys to agentstate keys reversibly, with no "." or "/" escaping a part', () => {
    for (const [namespace, key] of [
      [['a', 'b'], 'k'],
      [['..', '.'], '../x'],
      [['with/slash', 'col:on'], 'a~b'],
      [[], 'top'],
    ] as const) {
      const stored = itemKey(namespace, key);
      expect(stored.split('/').some((segment) => segment === '.' || segment === '..')).toBe(false);
      expect(parseItemKey(stored)).toEqual({ namespace, key });
    }
    expect(itemKey(['a'], 'k').startsWith('a/')).toBe(true);
    expect(itemKey(['ab'], 'k').startsWith('a/')).toBe(false);
  });
});
