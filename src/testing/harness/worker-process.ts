import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';
import {
  makeTempDir,
  retryOnPortClash,
  spawnProcess,
  waitForHttp,
  type ExitStatus,
  type ManagedProcess,
} from './process.ts';

export interface WorkerProcessOptions {
  /** Variables on top of the test process's environment (`PORT`, `HOST` and `AGENTSTATE_DATA_DIR` are set from the options). */
  readonly env?: Readonly<Record<string, string>>;
  /** The port to listen on, e.g. the app port a sidecar was started with. @default a free loopback port */
  readonly port?: number;
  /** The embedded store's folder. @default a fresh temp dir, removed at exit */
  readonly dataDir?: string;
  /** `LOG_LEVEL`, unless `env` sets it. @default 'warn' */
  readonly logLevel?: string;
  /** How long the worker may take until `/healthz` answers (a Dapr worker first waits for its sidecar). @default 20000 */
  readonly readyTimeoutMs?: number;
}

/** `agentstate serve` as a child process, listening on loopback and answering `/healthz`. */
export interface WorkerProcess extends ManagedProcess {
  readonly port: number;
  /** `http://127.0.0.1:{port}` */
  readonly url: string;
  readonly dataDir: string;
  /** SIGKILL, as a crash or the OOM killer would: nothing is drained or flushed. Resolves once it is gone. */
  kill(): Promise<ExitStatus>;
  /** Starts a new worker on the same port, data dir and environment once this one has exited. */
  respawn(): Promise<WorkerProcess>;
}

const mainEntry = fileURLToPath(new URL('../../main.ts', import.meta.url));

/**
 * Starts `src/main.ts serve` with the test's Node and waits until it answers `/healthz`.
 * If it exits or does not answer in time, it is stopped and the error carries the tail
 * of its output. A port picked here is picked again when another process took it first.
 */
export async function spawnWorkerProcess(options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
  const dataDir = options.dataDir ?? (await makeTempDir('worker'));
  const start = async (port: number) => startOn(port, { ...options, dataDir });
  if (options.port !== undefined) return start(options.port);
  return retryOnPortClash(async () => start(await freePort()));
}

async function startOn(
  port: number,
  options: WorkerProcessOptions & { readonly dataDir: string },
): Promise<WorkerProcess> {
  const proc = await spawnProcess({
    name: `agentstate serve :${port}`,
    command: process.execPath,
    args: [mainEntry, 'serve'],
    env: {
      ...process.env,
      LOG_LEVEL: options.logLevel ?? 'warn',
      ...options.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AGENTSTATE_DATA_DIR: options.dataDir,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`, { process: proc, timeoutMs: options.readyTimeoutMs ?? 20_000 });
  } catch (error) {
    await proc.stop(2_000);
    throw error;
  }
  return {
    ...proc,
    port,
    url,
    dataDir: options.dataDir,
    async kill() {
      if (proc.exitStatus() !== undefined) return proc.exited;
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch (error) {
        // It exited on its own a moment ago and its exit event is still on the way.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
      return proc.exited;
    },
    async respawn() {
      if (proc.exitStatus() === undefined) throw new Error(`${proc.name} still runs; stop or kill it first`);
      return startOn(port, options);
    },
  };
}
