import { describe, expect, it } from 'vitest';
import { cpuTable } from './cpu-table.ts';
import type { Measurement } from './measure.ts';

const measurement = (cpu?: Measurement['cpu']): Measurement => ({
  concurrency: 8,
  ops: 1_000,
  errors: 0,
  elapsedMs: 4_000,
  opsPerSec: 250,
  p50Ms: 1,
  p99Ms: 2,
  meanMs: 1,
  errorSamples: [],
  startedUs: 0,
  endedUs: 4_000_000,
  ...(cpu === undefined ? {} : { cpu }),
});

describe('cpuTable', () => {
  it('has a column per process in the order first read, and their total', () => {
    const table = cpuTable(
      ['op', 'side'],
      [
        {
          cells: ['set', 'agentstate'],
          measurement: measurement([
            { label: 'worker', cpuMs: 610, usPerOp: 610.4 },
            { label: 'daprd', cpuMs: 720, usPerOp: 720 },
          ]),
        },
        {
          cells: ['set', 'direct'],
          measurement: measurement([
            { label: 'daprd', cpuMs: 210, usPerOp: 210 },
            { label: 'Redis', cpuMs: 30, usPerOp: 30 },
          ]),
        },
      ],
    );
    expect(table.columns).toEqual(['op', 'side', 'worker µs', 'daprd µs', 'Redis µs', 'total µs']);
    expect(table.rows).toEqual([
      ['set', 'agentstate', '610', '720', '–', '1,330'],
      ['set', 'direct', '–', '210', '30', '240'],
    ]);
  });

  it('shows a dash for a cell whose CPU time was not read', () => {
    const table = cpuTable([''], [{ cells: ['agentstate'], measurement: measurement() }]);
    expect(table.rows).toEqual([['agentstate', '–']]);
  });
});
