import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { resolveDaprdBinary } from './daprd-binary.ts';
import { freePorts } from './free-port.ts';
import {
  makeTempDir,
  removeTempDir,
  retryOnPortClash,
  spawnProcess,
  waitForHttp,
  type ManagedProcess,
} from './process.ts';

export interface DaprdOptions {
  readonly appId: string;
  /** Component YAML documents (see `components.ts`). */
  readonly components: readonly string[];
  /**
   * The app's port on 127.0.0.1. daprd's `/v1.0/healthz` answers 204 only once the app
   * listens, so with an app port `startDaprd` waits for the outbound health alone and
   * the caller uses `waitHealthy()` after starting the app.
   */
  readonly appPort?: number;
  /** Sent by daprd to the app as `dapr-api-token` (daprd's `APP_API_TOKEN`). */
  readonly appApiToken?: string;
  /** Required by daprd's API from callers (daprd's `DAPR_API_TOKEN`). */
  readonly daprApiToken?: string;
  /** daprd's `--max-body-size`, e.g. `'4Mi'`. @default daprd's 4Mi */
  readonly maxBodySize?: string;
  /** Extra environment for daprd, e.g. variables a `local.env` secret store reads. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Without it each sidecar has a private (in-memory) name registry and can reach only
   * itself. With `'sqlite'` it registers in a registry file shared by every sidecar of
   * this process that asks for it, so they can invoke each other.
   */
  readonly nameResolution?: 'sqlite';
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** @default 60000 */
  readonly startTimeoutMs?: number;
}

export interface DaprSidecar {
  readonly appId: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly internalGrpcPort: number;
  /** daprd's process id, for reading its CPU time. */
  readonly pid: number;
  /** `http://127.0.0.1:<httpPort>` */
  readonly httpEndpoint: string;
  /** `http://127.0.0.1:<grpcPort>`, the form `DAPR_GRPC_ENDPOINT` takes. */
  readonly grpcEndpoint: string;
  logs(): string;
  /** Resolves once `/v1.0/healthz` answers 204, which needs the app to listen on `appPort`. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

let sharedRegistryDir: Promise<string> | undefined;

/**
 * daprd standalone without a Configuration resolves names with mDNS, which multicasts
 * on the LAN; so every sidecar gets a Configuration that selects the sqlite resolver.
 */
async function configuration(dir: string, nameResolution: DaprdOptions['nameResolution']): Promise<string> {
  let connectionString = 'file::memory:';
  if (nameResolution === 'sqlite') {
    sharedRegistryDir ??= makeTempDir('dapr-names');
    connectionString = join(await sharedRegistryDir, 'names.db');
  }
  const path = join(dir, 'config.yaml');
  const spec = {
    nameResolution: { component: 'sqlite', version: 'v1', configuration: { connectionString } },
  };
  await writeFile(
    path,
    stringify({ apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'harness' }, spec }),
  );
  return path;
}

/** Starts daprd standalone on free loopback ports, with no control plane. */
export async function startDaprd(options: DaprdOptions): Promise<DaprSidecar> {
  const binary = await resolveDaprdBinary();
  const dir = await makeTempDir(`daprd-${options.appId}`);
  const resources = join(dir, 'resources');
  await mkdir(resources);
  await Promise.all(
    options.components.map((doc, i) => writeFile(join(resources, `component-${i}.yaml`), doc)),
  );
  const config = await configuration(dir, options.nameResolution);
  try {
    return await retryOnPortClash(() => launch(binary, dir, resources, config, options));
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

async function launch(
  binary: string,
  dir: string,
  resources: string,
  config: string,
  options: DaprdOptions,
): Promise<DaprSidecar> {
  // The app's port is free until the app listens, which may be after daprd starts, so
  // freePort could hand it out again: daprd refuses a port that is also `--app-port`.
  const [httpPort = 0, grpcPort = 0, internalGrpcPort = 0] = await freePorts(
    3,
    options.appPort === undefined ? [] : [options.appPort],
  );
  const args = [
    ...['--app-id', options.appId, '--mode', 'standalone', '--resources-path', resources, '--config', config],
    ...['--dapr-http-port', String(httpPort), '--dapr-grpc-port', String(grpcPort)],
    ...[
      '--dapr-internal-grpc-port',
      String(internalGrpcPort),
      '--dapr-internal-grpc-listen-address',
      '127.0.0.1',
    ],
    '--dapr-listen-addresses=127.0.0.1',
    // Metrics would listen on 0.0.0.0:9090; nothing here reads them.
    '--enable-metrics=false',
    ...['--log-level', options.logLevel ?? 'info'],
    ...(options.appPort === undefined
      ? []
      : ['--app-port', String(options.appPort), '--app-channel-address', '127.0.0.1']),
    ...(options.maxBodySize === undefined ? [] : ['--max-body-size', options.maxBodySize]),
  ];
  // Not the test process's environment: a developer's DAPR_* variables (API token,
  // scheduler address, ...) would change what daprd does.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: dir,
    // The address daprd registers for itself; otherwise it asks the routing table.
    DAPR_HOST_IP: '127.0.0.1',
    ...(options.daprApiToken === undefined ? {} : { DAPR_API_TOKEN: options.daprApiToken }),
    ...(options.appApiToken === undefined ? {} : { APP_API_TOKEN: options.appApiToken }),
    ...options.env,
  };
  const proc = await spawnProcess({ name: `daprd[${options.appId}]`, command: binary, args, env });
  const httpEndpoint = `http://127.0.0.1:${httpPort}`;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const is204 = (status: number): boolean => status === 204;
  try {
    await waitForHttp(`${httpEndpoint}/v1.0/healthz/outbound`, { process: proc, timeoutMs, accept: is204 });
    if (options.appPort === undefined)
      await waitForHttp(`${httpEndpoint}/v1.0/healthz`, { process: proc, timeoutMs, accept: is204 });
  } catch (error) {
    await proc.stop(2_000);
    throw error;
  }
  return {
    appId: options.appId,
    httpPort,
    grpcPort,
    internalGrpcPort,
    pid: proc.pid,
    httpEndpoint,
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    logs: () => proc.logs(),
    waitHealthy: (ms = timeoutMs) =>
      waitForHttp(`${httpEndpoint}/v1.0/healthz`, { process: proc, timeoutMs: ms, accept: is204 }),
    stop: () => stopSidecar(proc, dir),
  };
}

async function stopSidecar(proc: ManagedProcess, dir: string): Promise<void> {
  await proc.stop();
  await removeTempDir(dir);
}
