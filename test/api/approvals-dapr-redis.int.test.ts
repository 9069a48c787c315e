import { afterAll, beforeAll } from 'vitest';
import { approvalApiSuite } from '../../src/testing/api/approval-suite.ts';
import { startDaprBackedTestWorker } from '../../src/testing/api/test-worker.ts';
import { describeWithDapr, startRedis, type RedisServer } from '../../src/testing/harness/index.ts';

// The approval records' compare-and-swap on a real store: daprd + Redis.
describeWithDapr('approvals on daprd + Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  approvalApiSuite('daprd + Redis', (capabilities) =>
    startDaprBackedTestWorker(redis, {}, { worker: { capabilities } }),
  );
});
