import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../logging.ts';
import { startWorker, type Worker, type WorkerOptions } from '../../service/worker.ts';
import {
  freePort,
  localFileSecretStore,
  localStorageBinding,
  makeTempDir,
  redisPubSub,
  redisStateStore,
  startDaprd,
  type DaprdOptions,
  type DaprSidecar,
  type RedisServer,
} from '../harness/index.ts';
import { apiClient, tokenMinter, type ApiClient } from './api-client.ts';

/** A worker in this process with a client and a token minter for its key. */
export interface TestWorker {
  readonly worker: Worker;
  readonly api: ApiClient;
  readonly token: ReturnType<typeof tokenMinter>;
  close(): Promise<void>;
}

export const TEST_TOKEN_KEY = 'agentstate-test-token-key-not-for-production';
/** The vault master key of test workers: base64 of 32 bytes. */
export const TEST_VAULT_KEY = Buffer.from('agentstate test vault key, no!!!').toString('base64');

/**
 * A worker on the embedded store in a fresh folder, on a free loopback port, with a
 * configured (not generated) token key, so it prints no development token.
 * `env` adds configuration, as the environment would; `options` are the worker's (e.g.
 * a test's own capabilities).
 */
export async function startEmbeddedTestWorker(
  env: Record<string, string> = {},
  options: Omit<WorkerOptions, 'notice'> = {},
): Promise<TestWorker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'agentstate-api-'));
  await writeFile(
    join(dataDir, 'secrets.json'),
    JSON.stringify({ 'agentstate-token-key': TEST_TOKEN_KEY, 'agentstate-vault-key': TEST_VAULT_KEY }),
  );
  const config = loadConfig({
    PORT: '0',
    AGENTSTATE_STORE: 'embedded',
    AGENTSTATE_DATA_DIR: dataDir,
    ...env,
  });
  const worker = await startWorker(config, createLogger('silent'), { ...options, notice: () => undefined });
  return {
    worker,
    api: apiClient(worker.url),
    token: tokenMinter(TEST_TOKEN_KEY),
    async close() {
      await worker.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A worker in this process beside a running sidecar (whose secret store holds `TEST_TOKEN_KEY`). */
export async function startDaprTestWorker(
  sidecar: { httpPort: number; grpcPort: number },
  port: number,
  env: Record<string, string> = {},
  options: Omit<WorkerOptions, 'notice'> = {},
): Promise<TestWorker> {
  const config = loadConfig({
    PORT: String(port),
    AGENTSTATE_STORE: 'dapr',
    DAPR_HTTP_PORT: String(sidecar.httpPort),
    DAPR_GRPC_PORT: String(sidecar.grpcPort),
    ...env,
  });
  const worker = await startWorker(config, createLogger('silent'), { ...options, notice: () => undefined });
  return {
    worker,
    api: apiClient(worker.url),
    token: tokenMinter(TEST_TOKEN_KEY),
    close: () => worker.close(),
  };
}

/**
 * The components of `components/` for a test sidecar: state and both pub/sub on
 * `redis`, blobs in `<dir>/blobs`, secrets in `<dir>/secrets.json`, which this writes
 * with `TEST_TOKEN_KEY` and `TEST_VAULT_KEY`.
 */
export async function agentstateComponents(redis: RedisServer, dir: string): Promise<string[]> {
  const secretsFile = join(dir, 'secrets.json');
  await writeFile(
    secretsFile,
    JSON.stringify({ 'agentstate-token-key': TEST_TOKEN_KEY, 'agentstate-vault-key': TEST_VAULT_KEY }),
  );
  return [
    redisStateStore('agentstate-state', redis),
    redisPubSub('agentstate-pubsub', redis),
    redisPubSub('agentstate-broadcast', redis, { consumerID: '{uuid}', maxLenApprox: 1000 }),
    localStorageBinding('agentstate-blobs', join(dir, 'blobs')),
    localFileSecretStore('agentstate-secrets', secretsFile),
  ];
}

/**
 * A worker in this process beside its own daprd, with the components of `components/`
 * over `redis` (state, pub/sub, broadcast), a local folder (blobs) and a secrets file
 * holding `TEST_TOKEN_KEY`. `close` stops both. `options` are the sidecar's and the
 * worker's (e.g. a test's own capabilities).
 */
export async function startDaprBackedTestWorker(
  redis: RedisServer,
  env: Record<string, string> = {},
  options: { sidecar?: Partial<DaprdOptions>; worker?: Omit<WorkerOptions, 'notice'> } = {},
): Promise<TestWorker & { readonly sidecar: DaprSidecar }> {
  const dir = await makeTempDir('agentstate-dapr-worker');
  const appPort = await freePort();
  const sidecar = await startDaprd({
    appId: 'agentstate',
    appPort,
    components: await agentstateComponents(redis, dir),
    ...options.sidecar,
  });
  try {
    const worker = await startDaprTestWorker(sidecar, appPort, env, options.worker);
    await sidecar.waitHealthy();
    return {
      ...worker,
      sidecar,
      async close() {
        await worker.close();
        await sidecar.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await sidecar.stop();
    throw error;
  }
}
