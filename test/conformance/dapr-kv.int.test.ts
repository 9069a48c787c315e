import { createDaprKvStore, createSidecarClient } from '../../src/adapters/dapr/index.ts';
import { kvStoreConformance } from '../../src/testing/conformance/index.ts';
import {
  postgresStateStore,
  redisStateStore,
  startDaprd,
  startPostgres,
  startRedis,
} from '../../src/testing/harness/index.ts';
import { daprSkipReason, startOnce } from './dapr-fixture.ts';

const sidecar = startOnce(async (onStop) => {
  const [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
  onStop(redis.stop);
  onStop(pg.stop);
  const daprd = await startDaprd({
    appId: 'agentstate-kv',
    components: [
      redisStateStore('kv-redis', redis),
      postgresStateStore('kv-pg-v1', pg, {
        version: 'v1',
        metadata: { tableName: 'state_v1', metadataTableName: 'dapr_metadata_v1' },
      }),
      postgresStateStore('kv-pg-v2', pg, {
        version: 'v2',
        metadata: { tablePrefix: 'v2_', metadataTableName: 'dapr_metadata_v2' },
      }),
    ],
  });
  onStop(daprd.stop);
  return createSidecarClient({ httpEndpoint: daprd.httpEndpoint });
});

for (const [name, storeName] of [
  ['dapr-redis', 'kv-redis'],
  ['dapr-postgresql v1', 'kv-pg-v1'],
  ['dapr-postgresql v2', 'kv-pg-v2'],
] as const) {
  kvStoreConformance({
    name,
    skip: daprSkipReason,
    create: async () => createDaprKvStore({ sidecar: await sidecar(), storeName }),
  });
}
