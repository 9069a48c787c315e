import { createDaprEventBus } from '../../src/adapters/dapr/event-bus.ts';
import { createDaprSecretSource } from '../../src/adapters/dapr/secret-source.ts';
import { createSidecarClient } from '../../src/adapters/dapr/sidecar-client.ts';
import { CONFORMANCE_SECRETS, eventBusConformance, secretSourceConformance } from '../../src/testing/conformance/index.ts';

const one = createSidecarClient({ httpEndpoint: 'http://127.0.0.1:23500', grpcEndpoint: '127.0.0.1:23501' });
const two = createSidecarClient({ httpEndpoint: 'http://127.0.0.1:24500', grpcEndpoint: 'http://127.0.0.1:24501' });
eventBusConformance({
  name: 'scratch dapr',
  create: async () => [
    createDaprEventBus({ sidecar: one, pubsubName: 'bus', broadcastPubsubName: 'bus-broadcast' }),
    createDaprEventBus({ sidecar: two, pubsubName: 'bus', broadcastPubsubName: 'bus-broadcast' }),
  ],
});
void CONFORMANCE_SECRETS;
secretSourceConformance({
  name: 'scratch dapr file',
  create: async () => createDaprSecretSource({ sidecar: one, storeName: 'secrets-file' }),
  createUnavailable: async () => createDaprSecretSource({ sidecar: one, storeName: 'no-such-store' }),
});
