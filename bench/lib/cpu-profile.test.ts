import { describe, expect, it } from 'vitest';
import { originOf, summarizeProfile, type CpuProfile } from './cpu-profile.ts';

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});

const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', '') },
    { id: 2, callFrame: frame('(idle)', '') },
    { id: 3, callFrame: frame('handle', 'file:///repo/node_modules/express/lib/router.js', 9) },
    { id: 4, callFrame: frame('getState', 'file:///repo/src/core/state/persistent-state.ts', 41) },
    { id: 5, callFrame: frame('writeGeneric', 'node:internal/stream_base_commons', 3) },
    { id: 6, callFrame: frame('(garbage collector)', '') },
  ],
  startTime: 0,
  endTime: 10_000,
  // Time deltas in microseconds: 4 ms idle, then 3 + 1 ms in getState, 1 ms express, 0.5 ms node, 0.5 ms GC.
  samples: [2, 4, 3, 4, 5, 6],
  timeDeltas: [4000, 3000, 1000, 1000, 500, 500],
};

describe('summarizeProfile', () => {
  it('gives each function the time of the samples it was on top for, idle apart', () => {
    const summary = summarizeProfile(profile);
    expect(summary).toMatchObject({ totalMs: 10, idleMs: 4, busyMs: 6 });
    expect(summary.functions.map((f) => [f.what, f.ms])).toEqual([
      ['getState (src/core/state/persistent-state.ts:42)', 4],
      ['handle (node_modules/express/lib/router.js:10)', 1],
      ['(garbage collector)', 0.5],
      ['writeGeneric (node:internal/stream_base_commons:4)', 0.5],
    ]);
    expect(summary.functions[0]!.share).toBeCloseTo(4 / 6);
  });

  it('adds the same time up by origin', () => {
    expect(summarizeProfile(profile).origins.map((o) => [o.what, o.ms])).toEqual([
      ['agentstate (src)', 4],
      ['express', 1],
      ['(garbage collector)', 0.5],
      ['node internals', 0.5],
    ]);
  });

  it('counts only the samples taken inside the windows it is given', () => {
    // Samples are taken at 4, 7, 8, 9, 9.5 and 10 ms after the start (times in µs).
    const summary = summarizeProfile(profile, [
      { startUs: 6_500, endUs: 8_000 },
      { startUs: 9_400, endUs: 9_600 },
    ]);
    expect(summary).toMatchObject({ totalMs: 4.5, idleMs: 0, busyMs: 4.5 });
    expect(summary.functions.map((f) => [f.what, f.ms])).toEqual([
      ['getState (src/core/state/persistent-state.ts:42)', 3],
      ['handle (node_modules/express/lib/router.js:10)', 1],
      ['writeGeneric (node:internal/stream_base_commons:4)', 0.5],
    ]);
  });

  it('refuses a sample of a node the profile does not have', () => {
    expect(() => summarizeProfile({ ...profile, samples: [...profile.samples, 99] })).toThrow(/node 99/);
  });
});

describe('originOf', () => {
  it('names scoped and unscoped packages, node, agentstate and V8', () => {
    expect(originOf('file:///r/node_modules/@dapr/dapr/build/x.js', 'f')).toBe('@dapr/dapr');
    expect(originOf('file:///r/node_modules/.pnpm/x/node_modules/pino/lib/a.js', 'f')).toBe('pino');
    expect(originOf('node:internal/http', 'f')).toBe('node internals');
    expect(originOf('file:///r/src/http/app.ts', 'f')).toBe('agentstate (src)');
    expect(originOf('', '(program)')).toBe('(program)');
    expect(originOf('', 'JSONParse')).toBe('(native)');
  });
});
