import { afterAll, beforeAll, expect, it } from 'vitest';
import { backupRoundTripSuite } from '../../src/testing/api/backup-suite.ts';
import { createCliShell } from '../../src/testing/api/cli-runner.ts';
import {
  agentstateComponents,
  startDaprBackedTestWorker,
  type TestWorker,
} from '../../src/testing/api/test-worker.ts';
import type { DaprSidecar } from '../../src/testing/harness/daprd.ts';
import {
  azureBlobBinding,
  describeWithDapr,
  makeTempDir,
  removeTempDir,
  startAzurite,
  startDaprd,
  startRedis,
  type AzuriteServer,
  type RedisServer,
} from '../../src/testing/harness/index.ts';

const env = { AGENTSTATE_BACKUP_CHUNK_BYTES: '4096' };

describeWithDapr('backups on daprd + Redis, blobs on bindings.localstorage', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  backupRoundTripSuite('daprd + Redis + localstorage', async () => {
    const worker = await startDaprBackedTestWorker(redis, env);
    return { worker, flags: `--url ${worker.worker.url}`, env: {}, close: () => worker.close() };
  });
});

describeWithDapr('backups on daprd + Redis, blobs on bindings.azure.blobstorage (Azurite)', () => {
  let redis: RedisServer;
  let azurite: AzuriteServer;
  beforeAll(async () => {
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
  }, 120_000);
  afterAll(async () => {
    await redis?.stop();
    await azurite?.stop();
  });

  backupRoundTripSuite('daprd + Redis + Azurite', async () => {
    const dir = await makeTempDir('agentstate-backup-azure');
    const components = (await agentstateComponents(redis, dir)).map((component) =>
      component.includes('bindings.localstorage')
        ? azureBlobBinding('agentstate-blobs', azurite, 'backups', { metadata: { decodeBase64: 'true' } })
        : component,
    );
    const worker = await startDaprBackedTestWorker(redis, env, { components });
    return {
      worker,
      flags: `--url ${worker.worker.url}`,
      env: {},
      async close() {
        await worker.close();
        await removeTempDir(dir);
      },
    };
  });
});

describeWithDapr('a backup Job: the CLI beside its own sidecar', () => {
  let redis: RedisServer;
  let worker: TestWorker;
  let jobSidecar: DaprSidecar;
  beforeAll(async () => {
    redis = await startRedis();
    worker = await startDaprBackedTestWorker(redis, env, { nameResolution: 'sqlite' });
    jobSidecar = await startDaprd({ appId: 'agentstate-backup', components: [], nameResolution: 'sqlite' });
  }, 120_000);
  afterAll(async () => {
    await jobSidecar?.stop();
    await worker?.close();
    await redis?.stop();
  });

  it(
    'runs `backup create --wait` through its sidecar and shuts the sidecar down, so the Job completes',
    { timeout: 120_000 },
    async () => {
      const token = await worker.token('jobs', 'backup-job', ['operator']);
      await worker.api.request('PUT', '/v1/agents/bot/state/k', { v: 1 }, { token });
      const shell = await createCliShell({
        AGENTSTATE_TOKEN: token,
        DAPR_HTTP_PORT: String(jobSidecar.httpPort),
      });
      try {
        const run = await shell.run('agentstate backup create --wait --dapr-app-id agentstate --json');
        expect(run.exitCode, run.stderr).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ status: 'complete', scope: 'full' });
      } finally {
        await shell.close();
      }
      const listed = await worker.api.request('GET', '/v1/backups', undefined, { token });
      expect(listed.body.count).toBe(1);
      // daprd drains before it exits; the Job completes once it has.
      await expect
        .poll(
          () =>
            fetch(`${jobSidecar.httpEndpoint}/v1.0/healthz/outbound`).then(
              () => 'up',
              () => 'gone',
            ),
          {
            timeout: 30_000,
            interval: 250,
          },
        )
        .toBe('gone');
    },
  );
});
