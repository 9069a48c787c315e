import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/**
 * A process of the bench whose CPU time is read: one process with all its threads, or
 * with its children too (PostgreSQL: the postmaster and its backends and workers).
 */
export interface CpuSubject {
  /** Its column in the report, e.g. `daprd`. */
  readonly label: string;
  readonly pid: number;
  readonly withChildren?: boolean;
}

/** On-CPU time of one subject at one moment. */
export interface CpuSnapshot {
  /** Nanoseconds on a CPU so far of each live process of the subject, all threads summed. */
  readonly byPid: ReadonlyMap<number, number>;
  /**
   * Nanoseconds of the subject's children that exited and were reaped (the root's
   * cutime + cstime), so a backend that ends in a window is not lost; in clock ticks.
   */
  readonly reapedNs: number;
}

/** CPU time one subject spent in a window, and per operation of it. */
export interface ProcessCpu {
  readonly label: string;
  readonly cpuMs: number;
  /** `NaN` when the window completed no operation. */
  readonly usPerOp: number;
}

/** The fields of `/proc/<pid>/stat` this reads; times in clock ticks. */
export interface ProcStat {
  readonly ppid: number;
  readonly utime: number;
  readonly stime: number;
  readonly cutime: number;
  readonly cstime: number;
}

/**
 * Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold
 * spaces and parentheses, so fields are counted from its last `)`.
 */
export function parseStat(text: string): ProcStat {
  const rest = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
  // `rest[0]` is field 3 (state): field n is rest[n - 3].
  const field = (n: number) => {
    const value = rest[n - 3] ?? '';
    if (!/^-?\d+$/.test(value)) throw new Error(`unreadable field ${n} in /proc stat: ${text}`);
    return Number(value);
  };
  return { ppid: field(4), utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) };
}

/** The first field of `/proc/<pid>/task/<tid>/schedstat`: ns the thread ran on a CPU. */
export function parseSchedstatNs(text: string): number {
  const ns = text.trim().split(' ')[0] ?? '';
  if (!/^\d+$/.test(ns)) throw new Error(`unreadable schedstat: ${text}`);
  return Number(ns);
}

/**
 * The CPU time a subject spent between two snapshots, in ns: what each process alive at
 * the end added (all of it for one started in between), plus what reaped children had
 * used, less what those that ended had already used at the start.
 */
export function cpuDeltaNs(before: CpuSnapshot, after: CpuSnapshot): number {
  let ns = after.reapedNs - before.reapedNs;
  for (const [pid, now] of after.byPid) ns += now - (before.byPid.get(pid) ?? 0);
  for (const [pid, then] of before.byPid) if (!after.byPid.has(pid)) ns -= then;
  return ns;
}

/** Each subject's CPU time over a window and per operation completed in it. */
export function perOperation(
  subjects: readonly CpuSubject[],
  before: readonly CpuSnapshot[],
  after: readonly CpuSnapshot[],
  ops: number,
): ProcessCpu[] {
  return subjects.map((subject, i) => {
    const ns = cpuDeltaNs(before[i]!, after[i]!);
    return { label: subject.label, cpuMs: ns / 1e6, usPerOp: ops > 0 ? ns / 1e3 / ops : Number.NaN };
  });
}

let clockTicks: number | undefined;
/** `getconf CLK_TCK`: the unit of the times in `/proc/<pid>/stat`. */
function clockTicksPerSecond(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return clockTicks;
}

/**
 * The summed schedstat of a process's threads (ns, unlike stat's 10 ms ticks; the
 * process's own `/proc/<pid>/schedstat` is its main thread alone). A thread that exits
 * takes its time with it, which the bench's processes do not do while measured.
 */
async function processNs(pid: number): Promise<number> {
  const tasks = await readdir(`/proc/${pid}/task`);
  const times = await Promise.all(
    tasks.map((tid) =>
      readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').then(parseSchedstatNs, () => 0),
    ),
  );
  return times.reduce((sum, ns) => sum + ns, 0);
}

async function childrenOf(pid: number): Promise<number[]> {
  const entries = await readdir('/proc');
  const stats = await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map((name) =>
        readFile(`/proc/${name}/stat`, 'utf8').then(
          (text) => ({ pid: Number(name), ppid: parseStat(text).ppid }),
          () => undefined,
        ),
      ),
  );
  return stats.filter((s) => s?.ppid === pid).map((s) => s!.pid);
}

/** Reads a subject's CPU time now, from `/proc`. */
async function readSnapshot(subject: CpuSubject): Promise<CpuSnapshot> {
  const root = parseStat(await readFile(`/proc/${subject.pid}/stat`, 'utf8'));
  const pids = [subject.pid, ...(subject.withChildren === true ? await childrenOf(subject.pid) : [])];
  const byPid = new Map<number, number>();
  await Promise.all(
    pids.map(async (pid) => {
      // A child may exit between the listing and the read: then it counts as reaped.
      const ns = await processNs(pid).catch(() => undefined);
      if (ns !== undefined) byPid.set(pid, ns);
    }),
  );
  const reapedNs =
    subject.withChildren === true ? ((root.cutime + root.cstime) * 1e9) / clockTicksPerSecond() : 0;
  return { byPid, reapedNs };
}

/**
 * Reads every subject now (all at once, so the window starts and ends alike for all);
 * `close` reads them again and answers each one's CPU time per operation in between.
 */
export async function openCpuWindow(
  subjects: readonly CpuSubject[],
): Promise<{ close(ops: number): Promise<ProcessCpu[]> }> {
  const before = await Promise.all(subjects.map(readSnapshot));
  return {
    close: async (ops) => perOperation(subjects, before, await Promise.all(subjects.map(readSnapshot)), ops),
  };
}
