import { afterAll, beforeAll } from 'vitest';
import { systemApiSuite } from '../../src/testing/api/system-suite.ts';
import { startDaprBackedTestWorker } from '../../src/testing/api/test-worker.ts';
import { describeWithDapr, startRedis, type RedisServer } from '../../src/testing/harness/index.ts';

// Snapshots on the localstorage blob binding, briefings over Redis pub/sub delivery.
describeWithDapr('briefings and system snapshots on daprd + Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  systemApiSuite('daprd + Redis', (env) => startDaprBackedTestWorker(redis, env));
});
