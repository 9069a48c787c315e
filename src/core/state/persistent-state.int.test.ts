import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createDaprKvStore, createSidecarClient, type SidecarClient } from '../../adapters/dapr/index.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import {
  describeWithDapr,
  postgresStateStore,
  redisStateStore,
  startDaprd,
  startPostgres,
  startRedis,
} from '../../testing/harness/index.ts';
import { createEngineRuntime } from '../engine/engine-runtime.ts';
import { heldBackground } from '../../testing/held-background.ts';
import { AppError } from '../errors.ts';
import { createPersistentState } from './persistent-state.ts';

// Issue 6 on real daprd: the sidecar requests persistent state's calls make before they
// answer (each a round trip, so what a caller waits for), and 128 writers of one agent.

/** A sidecar client that counts the requests it sends. */
function counted(sidecar: SidecarClient): { sidecar: SidecarClient; requests: () => number } {
  let requests = 0;
  return {
    sidecar: { ...sidecar, request: (request) => (requests++, sidecar.request(request)) },
    requests: () => requests,
  };
}

describeWithDapr('persistent state on daprd', () => {
  const stops: (() => Promise<void>)[] = [];
  const stores = new Map<string, { kv: KvStore; requests: () => number }>();

  beforeAll(async () => {
    const [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    stops.push(redis.stop, pg.stop);
    const daprd = await startDaprd({
      appId: 'agentstate-persistent',
      components: [redisStateStore('kv-redis', redis), postgresStateStore('kv-pg', pg, { version: 'v2' })],
    });
    stops.push(daprd.stop);
    for (const storeName of ['kv-redis', 'kv-pg']) {
      const { sidecar, requests } = counted(
        createSidecarClient({ httpEndpoint: daprd.httpEndpoint, grpcEndpoint: daprd.grpcEndpoint }),
      );
      const kv = createDaprKvStore({ sidecar, storeName });
      await kv.init();
      stops.push(() => kv.close());
      stores.set(storeName, { kv, requests });
    }
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  }, 60_000);

  for (const [name, storeName] of [
    ['Redis', 'kv-redis'],
    ['PostgreSQL', 'kv-pg'],
  ] as const) {
    describe(name, () => {
      it('answers create in 4 sidecar requests, update in 2, get in 1 and delete in 2', async () => {
        const { kv, requests } = stores.get(storeName)!;
        const held = heldBackground();
        const state = createPersistentState(kv, { tenant: 'calls', agent: storeName, runtime: held.runtime });
        const requestsOf = async (call: () => Promise<unknown>) => {
          await held.drain();
          const before = requests();
          await call();
          return requests() - before;
        };
        await state.set('seed', 'x');
        expect(await requestsOf(() => state.set('k', 1))).toBe(4);
        expect(await requestsOf(() => state.set('k', 'longer'))).toBe(2);
        expect(await requestsOf(() => state.get('k'))).toBe(1);
        expect(await requestsOf(() => state.delete('k'))).toBe(2);
        await held.drain();
        expect(await state.usage()).toEqual({ bytes: 3 });
      });

      it('keeps exactly what 128 concurrent writers of one agent were told, and lists it', async () => {
        const { kv } = stores.get(storeName)!;
        const runtime = createEngineRuntime();
        // Before the store closes, so that no recount of this test meets it closed.
        onTestFinished(() => runtime.background.close());
        const state = createPersistentState(kv, { tenant: 'fleet', agent: storeName, runtime });
        const writers = Array.from({ length: 128 }, (_, i) => `writer-${String(i).padStart(3, '0')}`);
        const told = new Map<string, { version: number; value: string }>();
        for (let round = 1; round <= 3; round++) {
          const answers = await Promise.allSettled(writers.map((key) => state.set(key, `${key}:${round}`)));
          for (const [i, answer] of answers.entries()) {
            const key = writers[i]!;
            if (answer.status === 'fulfilled')
              told.set(key, { version: answer.value.version, value: `${key}:${round}` });
            else expect(answer.reason).toBeInstanceOf(AppError);
          }
        }
        await runtime.background.settle();
        // Every success is in the store as answered; a key whose every write failed is not.
        for (const key of writers) {
          const last = told.get(key);
          if (last === undefined) await expect(state.get(key)).rejects.toMatchObject({ code: 'KeyNotFound' });
          else expect(await state.get(key)).toMatchObject(last);
        }
        expect(told.size).toBe(writers.length);
        const listed: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await state.list({ limit: 50, ...(cursor === undefined ? {} : { cursor }) });
          listed.push(...page.entries.map((entry) => entry.key));
          cursor = page.cursor;
        } while (cursor !== undefined);
        expect(listed).toEqual([...told.keys()].sort());
        const bytes = [...told.values()].reduce((sum, { value }) => sum + JSON.stringify(value).length, 0);
        expect(await state.usage()).toEqual({ bytes });
      }, 120_000);
    });
  }
});
