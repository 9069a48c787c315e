// Real servers on loopback ports for integration tests. `global-setup.ts` is not
// re-exported: vitest loads it by path.
export {
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  findAzuriteBlob,
  startAzurite,
  type AzuriteServer,
} from './azurite.ts';
export {
  azureBlobBinding,
  localEnvSecretStore,
  localFileSecretStore,
  localStorageBinding,
  postgresStateStore,
  redisPubSub,
  redisStateStore,
  type ComponentOptions,
  type LocalEnvSecretStoreOptions,
  type LocalFileSecretStoreOptions,
  type PostgresStateStoreOptions,
  type RedisPubSubOptions,
} from './components.ts';
export { resolveDaprdBinary } from './daprd-binary.ts';
export { startDaprd, type DaprdOptions, type DaprSidecar } from './daprd.ts';
export { freePort, freePorts } from './free-port.ts';
export { describeWithDapr, integrationPrerequisites, type IntegrationPrerequisites } from './integration.ts';
export {
  crdFiles,
  resolveKubeBinaries,
  startKubeApiServer,
  type KubeApiServer,
  type KubeBinaries,
} from './kube-apiserver.ts';
export { acceptsConnections, isLoopbackAddress, listenersOf, type Listener } from './listeners.ts';
export { findPostgresBinDir, startPostgres, type PostgresOptions, type PostgresServer } from './postgres.ts';
export {
  assertLoopbackUrl,
  logTail,
  makeTempDir,
  removeTempDir,
  retryOnPortClash,
  spawnProcess,
  waitForHttp,
  waitForPort,
  type ExitStatus,
  type ManagedProcess,
  type SpawnOptions,
  type WaitOptions,
} from './process.ts';
export { findRedisServer, startRedis, type RedisServer } from './redis.ts';
export { spawnWorkerProcess, type WorkerProcess, type WorkerProcessOptions } from './worker-process.ts';
