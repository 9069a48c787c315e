import { createDaprKvStore, createSidecarClient } from '../../src/adapters/dapr/index.ts';
import {
  persistentCrashSuite,
  sessionCrashSuite,
  sharedCrashSuite,
  type CrashTarget,
} from '../../src/testing/crash/index.ts';
import { redisStateStore, startDaprd, startRedis } from '../../src/testing/harness/index.ts';
import { daprSkipReason, startOnce } from '../conformance/dapr-fixture.ts';

// Issue 3: the crash-injection scenarios of the embedded tests, on daprd + Redis, whose
// CAS on a missing key inserts and whose transactions do not roll back. One sidecar
// serves every test; each test writes under tenants of its own. Shared state publishes
// on the in-process bus: the store is what is under test.

const sidecar = startOnce(async (onStop) => {
  const redis = await startRedis();
  onStop(redis.stop);
  const daprd = await startDaprd({ appId: 'agentstate-crash', components: [redisStateStore('kv', redis)] });
  onStop(daprd.stop);
  return createSidecarClient({ httpEndpoint: daprd.httpEndpoint });
});

const target: CrashTarget = {
  name: 'daprd + Redis',
  skip: daprSkipReason,
  open: async () => {
    const kv = createDaprKvStore({ sidecar: await sidecar(), storeName: 'kv' });
    await kv.init();
    return { kv, close: () => kv.close() };
  },
};

persistentCrashSuite(target);
sharedCrashSuite(target);
sessionCrashSuite(target);
