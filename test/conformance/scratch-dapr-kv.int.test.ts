import { createDaprKvStore } from '../../src/adapters/dapr/kv-store.ts';
import { createSidecarClient } from '../../src/adapters/dapr/sidecar-client.ts';
import { kvStoreConformance } from '../../src/testing/conformance/index.ts';

const sidecar = createSidecarClient({ httpEndpoint: 'http://127.0.0.1:23500', grpcEndpoint: '127.0.0.1:23501' });
for (const storeName of ['kv-redis', 'kv-pg1', 'kv-pg2']) {
  kvStoreConformance({ name: `scratch ${storeName}`, create: async () => createDaprKvStore({ sidecar, storeName }) });
}
