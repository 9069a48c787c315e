import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeWithDapr,
  freePort,
  makeTempDir,
  spawnWorkerProcess,
  startDaprd,
  startRedis,
  type DaprSidecar,
  type RedisServer,
  type WorkerProcess,
} from '../../src/testing/harness/index.ts';
import { agentstateComponents } from '../../src/testing/api/test-worker.ts';

// The worker as it runs in a pod: beside its sidecar, with the components of components/.
describeWithDapr('agentstate serve beside daprd (dapr-redis, dapr-localstorage, local.file secrets)', () => {
  let redis: RedisServer;
  let sidecar: DaprSidecar;
  let worker: WorkerProcess;
  let base: string;

  beforeAll(async () => {
    redis = await startRedis();
    const dir = await makeTempDir('serve-dapr');
    const appPort = await freePort();
    sidecar = await startDaprd({
      appId: 'agentstate',
      appPort,
      components: await agentstateComponents(redis, dir),
    });
    worker = await spawnWorkerProcess({
      port: appPort,
      env: { DAPR_HTTP_PORT: String(sidecar.httpPort), DAPR_GRPC_PORT: String(sidecar.grpcPort) },
      logLevel: 'info',
      readyTimeoutMs: 60_000,
    });
    base = worker.url;
    await sidecar.waitHealthy();
  });

  afterAll(async () => {
    await worker?.stop();
    await sidecar?.stop();
    await redis?.stop();
  });

  it('answers /readyz with 200 and names the Dapr adapters', async () => {
    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as {
      store: string;
      adapters: Record<string, string>;
      checks: Record<string, { ok: boolean }>;
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.store).toBe('dapr');
    expect(body.adapters['kv']).toBe('dapr-redis');
    expect(body.adapters['blobs']).toBe('dapr-localstorage');
    for (const adapter of Object.values(body.adapters)) expect(adapter).toMatch(/^dapr-/);
    expect(Object.values(body.checks).every((check) => check.ok)).toBe(true);
  });

  it('reports unready, naming the store, when Redis goes away', async () => {
    await redis.stop();
    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
    expect(res.status).toBe(503);
    expect(body.checks['kv']?.ok).toBe(false);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });
});
