import { afterAll, beforeAll } from 'vitest';
import { capabilityApiSuite } from '../../src/testing/api/capability-suite.ts';
import { startDaprBackedTestWorker } from '../../src/testing/api/test-worker.ts';
import { describeWithDapr, startRedis, type RedisServer } from '../../src/testing/harness/index.ts';

describeWithDapr('the state API on daprd + Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  capabilityApiSuite('daprd + Redis', (env) => startDaprBackedTestWorker(redis, env));
});
