import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaprEventBus, createDaprKvStore, createSidecarClient } from '../../adapters/dapr/index.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import {
  describeWithDapr,
  postgresStateStore,
  redisPubSub,
  redisStateStore,
  startDaprd,
  startPostgres,
  startRedis,
} from '../../testing/harness/index.ts';
import { runSharedCounterContention } from '../../testing/shared-counter-contention.ts';

// Issue 3: 32 agents × 50 read-modify-write increments of one shared counter lose no
// update on daprd with Redis (no transactional rollback) and with PostgreSQL, and every
// change is published on Dapr pub/sub and audited.

describeWithDapr('shared state on daprd', () => {
  const stops: Array<() => Promise<void>> = [];
  const stores = new Map<string, KvStore>();
  let bus: EventBus;

  beforeAll(async () => {
    const [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    stops.push(redis.stop, pg.stop);
    const daprd = await startDaprd({
      appId: 'agentstate-shared',
      components: [
        redisStateStore('kv-redis', redis),
        postgresStateStore('kv-pg', pg, { version: 'v2' }),
        redisPubSub('bus', redis),
        // Room for every event of a run, so the collector's stream is never trimmed under it.
        redisPubSub('bus-broadcast', redis, { consumerID: '{uuid}', maxLenApprox: 100_000 }),
      ],
    });
    stops.push(daprd.stop);
    const sidecar = createSidecarClient({
      httpEndpoint: daprd.httpEndpoint,
      grpcEndpoint: daprd.grpcEndpoint,
    });
    for (const storeName of ['kv-redis', 'kv-pg']) {
      const kv = createDaprKvStore({ sidecar, storeName });
      await kv.init();
      stops.push(() => kv.close());
      stores.set(storeName, kv);
    }
    bus = createDaprEventBus({ sidecar, pubsubName: 'bus', broadcastPubsubName: 'bus-broadcast' });
    await bus.init();
    stops.push(() => bus.close());
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  }, 60_000);

  it.each([
    ['Redis', 'kv-redis'],
    ['PostgreSQL', 'kv-pg'],
  ])(
    'loses no update of a counter that 32 agents increment 50 times each, on %s',
    async (_, storeName) => {
      const result = await runSharedCounterContention(stores.get(storeName)!, bus);
      expect(result).toMatchObject({ value: 1600, version: 1600 });
      expect(result.conflicts).toBeGreaterThan(0);
      expect(result.changeEvents).toBeGreaterThanOrEqual(1600);
    },
    600_000,
  );
});
