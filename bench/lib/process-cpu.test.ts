import { describe, expect, it } from 'vitest';
import { cpuDeltaNs, parseSchedstatNs, parseStat, perOperation, type CpuSnapshot } from './process-cpu.ts';

describe('parseStat', () => {
  it('reads ppid and the four times, counting fields after the command name', () => {
    const text =
      '4242 (postgres) S 4100 4242 4100 0 -1 4194560 905 0 0 0 37 12 250 81 20 0 1 0 303316 3133440 412 18446744073709551615 0 0 0\n';
    expect(parseStat(text)).toEqual({ ppid: 4100, utime: 37, stime: 12, cutime: 250, cstime: 81 });
  });

  it('is not misled by spaces and parentheses in the command name', () => {
    const text = '77 (a) b (c d)) R 1 77 77 0 -1 0 0 0 0 0 5 6 7 8 20 0 1 0 1 1 1 1';
    expect(parseStat(text)).toEqual({ ppid: 1, utime: 5, stime: 6, cutime: 7, cstime: 8 });
  });

  it('throws on a truncated line rather than answer NaN', () => {
    expect(() => parseStat('77 (node) R 1 77')).toThrow(/field 14/);
  });
});

describe('parseSchedstatNs', () => {
  it('answers the first field, ns on a CPU', () => {
    expect(parseSchedstatNs('28661491 70973918 86\n')).toBe(28_661_491);
  });

  it('throws on text that is not a schedstat', () => {
    expect(() => parseSchedstatNs('\n')).toThrow(/schedstat/);
  });
});

const snapshot = (entries: [number, number][], reapedNs = 0): CpuSnapshot => ({
  byPid: new Map(entries),
  reapedNs,
});

describe('cpuDeltaNs', () => {
  it('is what each process added over the window', () => {
    expect(cpuDeltaNs(snapshot([[1, 1_000]]), snapshot([[1, 4_500]]))).toBe(3_500);
  });

  it('counts all of a child that started in the window', () => {
    const before = snapshot([[1, 1_000]]);
    const after = snapshot([
      [1, 2_000],
      [9, 700],
    ]);
    expect(cpuDeltaNs(before, after)).toBe(1_000 + 700);
  });

  it('counts a child that ended in the window by what reaping it added, less what it had used before', () => {
    const before = snapshot(
      [
        [1, 1_000],
        [9, 3_000],
      ],
      10_000,
    );
    // The child ended after 3 000 + 500 ns; its parent's reaped time grew by all of it.
    const after = snapshot([[1, 1_200]], 13_500);
    expect(cpuDeltaNs(before, after)).toBe(200 + 500);
  });
});

describe('perOperation', () => {
  const subjects = [
    { label: 'daprd', pid: 1 },
    { label: 'PostgreSQL', pid: 2, withChildren: true },
  ];
  const before = [snapshot([[1, 0]]), snapshot([[2, 5_000_000]])];
  const after = [snapshot([[1, 720_000_000]]), snapshot([[2, 95_000_000]])];

  it('divides each subject by the operations of the window, in µs, with its ms in total', () => {
    expect(perOperation(subjects, before, after, 1_000)).toEqual([
      { label: 'daprd', cpuMs: 720, usPerOp: 720 },
      { label: 'PostgreSQL', cpuMs: 90, usPerOp: 90 },
    ]);
  });

  it('answers NaN per operation when the window completed none', () => {
    expect(perOperation(subjects, before, after, 0).map((p) => p.usPerOp)).toEqual([Number.NaN, Number.NaN]);
  });
});
