import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { logTail, spawnProcess, type ManagedProcess } from '../../src/testing/harness/index.ts';
import { totalCalls, type KvCounters } from './counting-kv-store.ts';
import type { HttpClient } from './http-client.ts';
import {
  WORKER_READY,
  workerReadySchema,
  type SeedRequest,
  type WorkerMemory,
  type WorkerSpec,
} from './worker-spec.ts';

/** A worker process of the bench, with its store's counters. */
export interface WorkerHandle {
  readonly url: string;
  readonly pid: number;
  /** Starts counting from zero. */
  countersOn(): Promise<void>;
  /** Stops counting and answers what was counted. */
  countersOff(): Promise<KvCounters>;
  counters(): Promise<KvCounters>;
  /**
   * Resolves once the store saw no call for `quietMs` (background work after the answers
   * has settled), or after `capMs`; answers whether it became quiet. Counting must be on.
   */
  settle(quietMs?: number, capMs?: number): Promise<boolean>;
  /**
   * Counts for a moment to wait until the background work of earlier calls has settled,
   * so the next measurement starts from a quiet store; answers whether it became quiet.
   */
  waitQuiet(): Promise<boolean>;
  /** Writes keys `seedKey(from..to-1)` of one agent by the engine's bulk load, in the worker. */
  seed(request: SeedRequest): Promise<void>;
  /** The worker process's resident set size now, and V8's part of it, in bytes. */
  memory(): Promise<WorkerMemory>;
  stop(): Promise<void>;
}

export interface WorkerHandleOptions {
  readonly spec: WorkerSpec;
  readonly http: HttpClient;
  /** Folder for `--cpu-prof` profiles of the worker; no profiling when absent. */
  readonly cpuProfDir?: string;
  readonly name: string;
}

const entry = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** Starts `worker-process.ts` with the project's Node and waits until it listens. */
export async function startWorkerProcess(options: WorkerHandleOptions): Promise<WorkerHandle> {
  const { spec, http, cpuProfDir, name } = options;
  const profiling =
    cpuProfDir === undefined
      ? []
      : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${name}.cpuprofile`];
  const proc: ManagedProcess = await spawnProcess({
    name: `agentstate worker [${name}]`,
    command: process.execPath,
    args: [...profiling, entry],
    env: { ...process.env, BENCH_WORKER_SPEC: JSON.stringify(spec) },
  });
  const ready = await waitForReady(proc, 60_000);
  const control = (method: string, path: string) =>
    http.ok(method, `${ready.controlUrl}${path}`).then((answer) => JSON.parse(answer.text) as KvCounters);
  async function settle(quietMs = 500, capMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + capMs;
    let last = totalCalls(await control('GET', '/counters'));
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      await sleep(100);
      const now = totalCalls(await control('GET', '/counters'));
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      } else if (Date.now() - quietSince >= quietMs) return true;
    }
    return false;
  }
  return {
    url: ready.url,
    pid: proc.pid,
    countersOn: async () => void (await control('POST', '/counters/on')),
    countersOff: () => control('POST', '/counters/off'),
    counters: () => control('GET', '/counters'),
    settle,
    async waitQuiet() {
      await control('POST', '/counters/on');
      const quiet = await settle(300, 15_000);
      await control('POST', '/counters/off');
      return quiet;
    },
    async seed(request) {
      await http.ok('POST', `${ready.controlUrl}/seed`, JSON.stringify(request));
    },
    async memory() {
      const answer = await http.ok('GET', `${ready.controlUrl}/memory`);
      return JSON.parse(answer.text) as WorkerMemory;
    },
    async stop() {
      await proc.stop(15_000);
    },
  };
}

async function waitForReady(proc: ManagedProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = proc
      .logs()
      .split('\n')
      .find((l) => l.startsWith(WORKER_READY));
    if (line !== undefined) return workerReadySchema.parse(JSON.parse(line.slice(WORKER_READY.length)));
    if (proc.exitStatus() !== undefined) throw new Error(`the worker process exited\n${logTail(proc)}`);
    await sleep(50);
  }
  await proc.stop(2_000);
  throw new Error(`the worker process did not start within ${timeoutMs} ms\n${logTail(proc)}`);
}
