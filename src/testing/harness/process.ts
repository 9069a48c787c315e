import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SpawnOptions {
  /** Names the process in errors and log tails, e.g. `redis-server`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The child's whole environment. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Runs the child as this user (PostgreSQL refuses to run as root). */
  readonly uid?: number;
  readonly gid?: number;
  /** The first signal `stop()` sends. @default 'SIGTERM' */
  readonly stopSignal?: NodeJS.Signals;
  /** The signal the child gets if the test process exits or dies while it runs. @default 'SIGKILL' */
  readonly exitSignal?: NodeJS.Signals;
  /** How much of stdout and stderr `logs()` keeps, in characters. @default 262144 */
  readonly maxLogChars?: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** The most recent output on stdout and stderr, interleaved as it arrived. */
  logs(): string;
  /** How the process ended, or `undefined` while it runs. */
  exitStatus(): ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;
  /** Sends `stopSignal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

interface Tracked {
  readonly child: ChildProcess;
  readonly exitSignal: NodeJS.Signals;
}

// Whatever the tests leave running or lying around dies with the test process, even
// when a test times out or the worker is interrupted.
const liveChildren = new Set<Tracked>();
const tempDirs = new Set<string>();
let exitHooksInstalled = false;

function cleanUpNow(): void {
  for (const { child, exitSignal } of liveChildren) child.kill(exitSignal);
  liveChildren.clear();
  // Children signalled a moment ago may still be writing into their dirs; give them a
  // little time, synchronously since this runs in the 'exit' handler.
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const dir of tempDirs) {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        rmSync(dir, { recursive: true, force: true });
        break;
      } catch {
        Atomics.wait(pause, 0, 0, 50);
      }
    }
  }
  tempDirs.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', cleanUpNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUpNow();
      // Listening suppressed the default action; restore it unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Starts a child process whose output is kept (bounded) for error messages. */
export async function spawnProcess(options: SpawnOptions): Promise<ManagedProcess> {
  installExitHooks();
  const maxLogChars = options.maxLogChars ?? 262_144;
  const exitSignal = options.exitSignal ?? 'SIGKILL';
  // Exit hooks do not run when the test process is killed outright (vitest kills its
  // workers); the kernel's parent-death signal still reaches the child then.
  const setpriv = process.platform === 'linux' ? findExecutable('setpriv') : undefined;
  const [command, args] =
    setpriv === undefined
      ? [options.command, options.args]
      : [setpriv, ['--pdeathsig', exitSignal.replace(/^SIG/, ''), '--', options.command, ...options.args]];
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > maxLogChars * 2) log = log.slice(-maxLogChars);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const tracked: Tracked = { child, exitSignal };
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      liveChildren.delete(tracked);
      resolve(status);
    });
  });
  try {
    await once(child, 'spawn');
  } catch (error) {
    throw new Error(`could not start ${options.name} (${options.command}): ${(error as Error).message}`, {
      cause: error,
    });
  }
  liveChildren.add(tracked);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} started without a pid`);

  return {
    name: options.name,
    pid,
    logs: () => log.slice(-maxLogChars),
    exitStatus: () => status,
    exited,
    async stop(graceMs = 10_000) {
      if (status !== undefined) return status;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The last `lines` lines of a process's output, framed for an error message. */
export function logTail(proc: ManagedProcess, lines = 60): string {
  const tail = proc.logs().trimEnd().split('\n').slice(-lines).join('\n');
  return `--- last ${lines} lines of ${proc.name} (pid ${proc.pid}) ---\n${tail}\n--- end of ${proc.name} log ---`;
}

export interface WaitOptions {
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** Fails at once, with its log tail, if this process exits while waiting. */
  readonly process?: ManagedProcess;
}

async function waitUntil(
  what: string,
  attempt: () => Promise<string | undefined>,
  options: WaitOptions,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no attempt finished';
  for (;;) {
    const proc = options.process;
    const exit = proc?.exitStatus();
    if (proc !== undefined && exit !== undefined) {
      throw new Error(
        `${proc.name} exited (code ${exit.code}, signal ${exit.signal}) before ${what}\n${logTail(proc)}`,
      );
    }
    const problem = await attempt();
    if (problem === undefined) return;
    lastProblem = problem;
    if (Date.now() > deadline) {
      const tail = proc === undefined ? '' : `\n${logTail(proc)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what} (last: ${lastProblem})${tail}`);
    }
    await sleep(50);
  }
}

/** Resolves once something accepts TCP connections on `host:port`. */
export async function waitForPort(
  port: number,
  options: WaitOptions & { readonly host?: string } = {},
): Promise<void> {
  const host = options.host ?? '127.0.0.1';
  await waitUntil(`${host}:${port} accepts connections`, () => tryConnect(host, port), options);
}

function tryConnect(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('connect timed out');
    });
    socket.once('error', (error) => resolve(error.message));
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Throws unless `url` points at this machine's loopback interface. */
export function assertLoopbackUrl(url: string): void {
  const { hostname } = new URL(url);
  if (!LOOPBACK_HOSTS.has(hostname)) throw new Error(`tests only talk to loopback addresses, not ${url}`);
}

/** Resolves once `GET url` answers a status that `accept` likes (by default any 2xx). */
export async function waitForHttp(
  url: string,
  options: WaitOptions & { readonly accept?: (status: number) => boolean } = {},
): Promise<void> {
  assertLoopbackUrl(url);
  const accept = options.accept ?? ((status: number) => status >= 200 && status < 300);
  await waitUntil(
    `GET ${url} answers`,
    async () => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        return accept(response.status) ? undefined : `status ${response.status}`;
      } catch (error) {
        return (error as Error).message;
      }
    },
    options,
  );
}

/**
 * Runs `start` again, up to `attempts` times, when it failed because a port picked by
 * `freePort` was taken in the meantime.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const clash = /address already in use|EADDRINUSE|could not bind/i.test(
        String((error as Error).message),
      );
      if (!clash || attempt >= attempts) throw error;
    }
  }
}

const TEMP_PREFIX = 'agentstate-harness-';

/**
 * A fresh directory under the OS temp dir, removed by `removeTempDir` or at exit. Its
 * name carries this process's pid so that `sweepStaleTempDirs` can tell it is orphaned.
 */
export async function makeTempDir(label: string): Promise<string> {
  installExitHooks();
  const dir = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Removes temp dirs left by test processes that were killed before their exit hooks ran. */
export async function sweepStaleTempDirs(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = Number(/^agentstate-harness-(\d+)-/.exec(entry)?.[1]);
    if (!Number.isInteger(pid) || isAlive(pid)) continue;
    await rm(join(tmpdir(), entry), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH or in `extraDirs`, or `undefined`. */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirs];
  return dirs
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, name))
    .find(isExecutable);
}
