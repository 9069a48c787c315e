import { portabilitySuite } from '../../src/testing/api/portability-suite.ts';
import { cliPortabilitySuite } from '../../src/testing/api/cli-suite.ts';
import { startDaprBackedTestWorker } from '../../src/testing/api/test-worker.ts';
import { describeWithDapr, startRedis } from '../../src/testing/harness/index.ts';

/** A worker beside its own daprd over a Redis of its own: a fresh store. */
async function startOnOwnRedis() {
  const redis = await startRedis();
  try {
    const worker = await startDaprBackedTestWorker(redis);
    return {
      ...worker,
      async close() {
        await worker.close();
        await redis.stop();
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}

describeWithDapr('portable state on daprd + Redis', () => {
  portabilitySuite('daprd + Redis', startOnOwnRedis);

  // As in a Kubernetes Job: the CLI calls the local sidecar, which invokes app `agentstate`.
  cliPortabilitySuite('--dapr-app-id through the sidecar, daprd + Redis', async () => {
    const worker = await startOnOwnRedis();
    return {
      worker,
      flags: '--dapr-app-id agentstate',
      env: { DAPR_HTTP_PORT: String(worker.sidecar.httpPort) },
      close: () => worker.close(),
    };
  });
});
