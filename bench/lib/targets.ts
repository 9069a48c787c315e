import { parse } from 'yaml';
import { agentstateComponents } from '../../src/testing/api/test-worker.ts';
import {
  freePort,
  makeTempDir,
  postgresStateStore,
  removeTempDir,
  startDaprd,
  type DaprSidecar,
  type PostgresServer,
  type RedisServer,
} from '../../src/testing/harness/index.ts';
import type { HttpClient } from './http-client.ts';
import type { CpuSubject } from './process-cpu.ts';
import { startWorkerProcess, type WorkerHandle } from './worker-handle.ts';

/** The state store component both agentstate and the direct baseline use. */
export const STATE_STORE = 'agentstate-state';

/** This process: the HTTP clients that generate the load run in it. */
const LOAD_GENERATOR: CpuSubject = { label: 'load generator', pid: process.pid };

/** One agentstate worker process with the store behind it; `dapr` is absent on embedded. */
export interface Target {
  readonly name: string;
  readonly worker: WorkerHandle;
  /** daprd's HTTP endpoint, for the direct baseline. */
  readonly daprEndpoint?: string;
  /**
   * The processes a request goes through, for CPU time per operation: the worker, daprd
   * and the stores on Dapr, and this process, which generates the load.
   */
  readonly processes: readonly CpuSubject[];
  close(): Promise<void>;
}

export interface TargetOptions {
  readonly http: HttpClient;
  readonly logLevel: string;
  readonly cpuProfDir?: string;
}

/**
 * daprd with agentstate's components (those of `agentstateComponents`, the test
 * workers' own) beside a worker process; on PostgreSQL only the state store differs.
 */
export async function startDaprTarget(
  store: 'redis' | 'postgres',
  servers: { redis: RedisServer; postgres?: PostgresServer },
  options: TargetOptions,
): Promise<Target> {
  const dir = await makeTempDir('bench-dapr');
  let components = await agentstateComponents(servers.redis, dir);
  if (store === 'postgres') {
    if (servers.postgres === undefined) throw new Error('the PostgreSQL target needs a PostgreSQL server');
    const pg = postgresStateStore(STATE_STORE, servers.postgres);
    components = components.map((doc) => (componentName(doc) === STATE_STORE ? pg : doc));
  }
  const appPort = await freePort();
  const sidecar: DaprSidecar = await startDaprd({
    appId: 'agentstate',
    appPort,
    components,
    logLevel: 'warn',
  });
  try {
    const worker = await startWorkerProcess({
      name: `dapr-${store}`,
      http: options.http,
      spec: {
        store: 'dapr',
        logLevel: options.logLevel,
        appPort,
        daprHttpPort: sidecar.httpPort,
        daprGrpcPort: sidecar.grpcPort,
      },
      ...(options.cpuProfDir === undefined ? {} : { cpuProfDir: options.cpuProfDir }),
    });
    await sidecar.waitHealthy();
    return {
      name: store === 'redis' ? 'daprd + Redis' : 'daprd + PostgreSQL',
      worker,
      daprEndpoint: sidecar.httpEndpoint,
      processes: [
        { label: 'worker', pid: worker.pid },
        { label: 'daprd', pid: sidecar.pid },
        // Redis holds the pub/sub topics on PostgreSQL too.
        { label: 'Redis', pid: servers.redis.pid },
        ...(store === 'postgres' && servers.postgres !== undefined
          ? [{ label: 'PostgreSQL', pid: servers.postgres.pid, withChildren: true }]
          : []),
        LOAD_GENERATOR,
      ],
      async close() {
        await worker.stop();
        await sidecar.stop();
        await removeTempDir(dir);
      },
    };
  } catch (error) {
    await sidecar.stop();
    throw error;
  }
}

/** A worker process on the embedded store (SQLite) in a fresh folder. */
export async function startEmbeddedTarget(options: TargetOptions): Promise<Target> {
  const worker = await startWorkerProcess({
    name: 'embedded',
    http: options.http,
    spec: { store: 'embedded', logLevel: options.logLevel },
    ...(options.cpuProfDir === undefined ? {} : { cpuProfDir: options.cpuProfDir }),
  });
  return {
    name: 'embedded (SQLite)',
    worker,
    processes: [{ label: 'worker', pid: worker.pid }, LOAD_GENERATOR],
    close: () => worker.stop(),
  };
}

function componentName(doc: string): string | undefined {
  return (parse(doc) as { metadata?: { name?: string } }).metadata?.name;
}
