import { stringify } from 'yaml';
import { createDaprEventBus, createSidecarClient } from '../../src/adapters/dapr/index.ts';
import type { EventBus } from '../../src/ports/event-bus.ts';
import { eventBusConformance } from '../../src/testing/conformance/index.ts';
import { redisPubSub, startDaprd, startRedis } from '../../src/testing/harness/index.ts';
import { daprSkipReason, startOnce } from './dapr-fixture.ts';

// The configuration the Dapr event bus needs (see src/adapters/dapr/event-bus.ts): Redis
// streams ACK an event whatever the subscriber answered, so a RETRY is redelivered only
// under an inbound retry policy; `readTimeout` ends the reads of closed subscriptions.
const resiliency = stringify({
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Resiliency',
  metadata: { name: 'pubsub-redelivery' },
  spec: {
    policies: {
      retries: {
        redeliver: { policy: 'exponential', initialInterval: '200ms', maxInterval: '5s', maxRetries: 20 },
      },
    },
    targets: {
      components: {
        bus: { inbound: { retry: 'redeliver' } },
        'bus-broadcast': { inbound: { retry: 'redeliver' } },
      },
    },
  },
});

const timeouts = { readTimeout: '2s', processingTimeout: '10s', redeliverInterval: '10s' };

const sidecars = startOnce(async (onStop) => {
  const redis = await startRedis();
  onStop(redis.stop);
  // Two sidecars of one app id: two replicas.
  const components = [
    redisPubSub('bus', redis, { metadata: timeouts }),
    redisPubSub('bus-broadcast', redis, { consumerID: '{uuid}', maxLenApprox: 10_000, metadata: timeouts }),
    resiliency,
  ];
  const daprds = await Promise.all([0, 1].map(() => startDaprd({ appId: 'agentstate-bus', components })));
  for (const daprd of daprds) onStop(daprd.stop);
  return daprds.map((daprd) =>
    createSidecarClient({ httpEndpoint: daprd.httpEndpoint, grpcEndpoint: daprd.grpcEndpoint }),
  );
});

eventBusConformance({
  name: 'dapr-redis (pubsub.redis streams, two sidecars of one app id)',
  skip: daprSkipReason,
  create: async () => {
    const buses = (await sidecars()).map((sidecar) =>
      createDaprEventBus({ sidecar, pubsubName: 'bus', broadcastPubsubName: 'bus-broadcast' }),
    );
    return buses as [EventBus, EventBus];
  },
});
