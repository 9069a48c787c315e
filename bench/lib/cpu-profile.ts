import { z } from 'zod';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that self time needs. */
export const cpuProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({
        functionName: z.string(),
        url: z.string(),
        lineNumber: z.number(),
        columnNumber: z.number(),
      }),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
export type CpuProfile = z.infer<typeof cpuProfileSchema>;

export interface SelfTime {
  /** `name (file:line)`, with the file relative to the repository or its package. */
  readonly what: string;
  readonly ms: number;
  /** Share of the busy time (all samples but `(idle)`), 0..1. */
  readonly share: number;
}

/** A span of the monotonic clock, in µs, as `Measurement.startedUs`/`endedUs` and profile timestamps are. */
export interface TimeWindow {
  readonly startUs: number;
  readonly endUs: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  /** Functions by self time, largest first. */
  readonly functions: readonly SelfTime[];
  /** The same time by where the code comes from: a package, node's internals, agentstate, V8. */
  readonly origins: readonly SelfTime[];
}

const IDLE = '(idle)';

/** Where a frame's code comes from: a package of node_modules, node's internals, agentstate, or V8. */
export function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  // The last node_modules of the path: the package itself, not the store it sits in.
  const inModules = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (inModules !== null) return inModules[1]!;
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/src/')) return 'agentstate (src)';
  if (url.includes('/bench/')) return 'bench';
  return 'other';
}

function describeFrame(url: string, functionName: string, line: number): string {
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const file = url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/');
  return `${name} (${file}:${line + 1})`;
}

function ranked(times: Map<string, number>, busyMs: number): SelfTime[] {
  return [...times]
    .map(([what, ms]) => ({ what, ms, share: busyMs === 0 ? 0 : ms / busyMs }))
    .sort((a, b) => b.ms - a.ms || a.what.localeCompare(b.what));
}

/**
 * Self time per function and per origin: each sample's time delta goes to the function
 * on top of the stack when it was taken. `(idle)` is counted apart, so shares are of the
 * time the process was busy. With `windows`, only samples taken inside one of them count
 * (a measurement, without the process's start-up and set-up).
 */
export function summarizeProfile(profile: CpuProfile, windows?: readonly TimeWindow[]): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    at += profile.timeDeltas[i] ?? 0;
    if (windows !== undefined && !windows.some((w) => at >= w.startUs && at <= w.endUs)) continue;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = frames.get(id);
    if (frame === undefined) throw new Error(`sample ${i} names node ${id}, which the profile lacks`);
    totalMs += ms;
    if (frame.functionName === IDLE) {
      idleMs += ms;
      continue;
    }
    const what = describeFrame(frame.url, frame.functionName, frame.lineNumber);
    byFunction.set(what, (byFunction.get(what) ?? 0) + ms);
    const origin = originOf(frame.url, frame.functionName);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  return {
    totalMs,
    idleMs,
    busyMs,
    functions: ranked(byFunction, busyMs),
    origins: ranked(byOrigin, busyMs),
  };
}
