import { describe, expect, it } from 'vitest';
import type { MachineInfo } from './machine.ts';
import {
  loadNote,
  renderJson,
  renderMarkdown,
  renderSummary,
  UNMEASURED_BUDGETS,
  type BenchReport,
} from './report.ts';

const machine: MachineInfo = {
  cpu: 'Test CPU',
  cores: 2,
  memoryGiB: 8,
  os: 'Linux 6',
  versions: { node: 'v24.0.0', daprd: '1.18.2' },
  commit: 'abc1234',
  loadAverage: [0.1, 0.2, 0.3],
};

function report(overrides: Partial<BenchReport> = {}): BenchReport {
  return {
    command: 'npm run bench',
    mode: 'full',
    startedAt: '2026-12-01T16:00:00Z',
    durationSeconds: 600.4,
    machine,
    loadAverageAtEnd: [1.5, 1, 0.5],
    budgets: [
      { budget: 'get ≥ 0.7x', met: true, measured: '0.80x' },
      { budget: 'set ≥ 0.5x', met: false, measured: '0.10x' },
      { budget: 'list 100k/1k ≤ 1.3', met: undefined, measured: 'not at 100k' },
    ],
    sections: [
      {
        title: 'First',
        description: 'What was measured.',
        table: { columns: ['a', 'b'], rows: [['1', 'x | y']] },
        notes: ['a note'],
      },
      { title: 'Second', description: 'More.', table: { columns: ['c'], rows: [['2']] }, notes: [] },
    ],
    headlines: [
      {
        measure: 'persistent get vs direct Dapr, concurrency 1 / 8',
        target: 'daprd + Redis',
        result: '0.80x / 0.75x',
      },
      { measure: 'AES-256-GCM', target: 'in process', result: '5.00x' },
    ],
    skipped: ['daprd + PostgreSQL: PostgreSQL is not installed'],
    data: {},
    ...overrides,
  };
}

/** The rows of the markdown table that follows the line `## {title}`. */
function tableAfter(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  const rows: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('|')) rows.push(line);
    else if (rows.length > 0) break;
  }
  return rows;
}

/** Cells of a markdown table row, with `\|` kept inside its cell. */
const cells = (row: string) => row.split(/(?<!\\)\|/).slice(1, -1);

describe('renderMarkdown', () => {
  it('records the command, the date, the machine and the versions', () => {
    const markdown = renderMarkdown(report());
    expect(markdown).toContain(
      '`npm run bench` (full mode) on 2026-12-01T16:00:00Z, in 600 s, at commit abc1234',
    );
    expect(markdown).toContain('Test CPU, 2 cores, 8 GiB, Linux 6');
    expect(markdown).toContain('node v24.0.0, daprd 1.18.2');
    expect(markdown).not.toContain('Quick mode');
  });

  it('marks each budget met, not met or not judged, and lists those no workload measures', () => {
    const rows = tableAfter(renderMarkdown(report()), '## Budgets');
    expect(rows.slice(2, 5).map((row) => cells(row).map((c) => c.trim()))).toEqual([
      ['get ≥ 0.7x', '0.80x', 'met'],
      ['set ≥ 0.5x', '0.10x', '**not met**'],
      ['list 100k/1k ≤ 1.3', 'not at 100k', 'not judged'],
    ]);
    expect(rows).toHaveLength(2 + 3 + UNMEASURED_BUDGETS.length);
  });

  it('renders each section in order with a table whose rows all have the header’s cells', () => {
    const markdown = renderMarkdown(report());
    expect(markdown.indexOf('## First')).toBeLessThan(markdown.indexOf('## Second'));
    const rows = tableAfter(markdown, '## First');
    expect(rows).toEqual(['| a | b |', '| --- | --- |', '| 1 | x \\| y |']);
    expect(new Set(rows.map((row) => cells(row).length))).toEqual(new Set([2]));
    expect(markdown).toContain('- a note');
    expect(markdown).toContain('- skipped: daprd + PostgreSQL: PostgreSQL is not installed');
  });

  it('says when a run was quick', () => {
    expect(renderMarkdown(report({ mode: 'quick' }))).toContain('_Quick mode:');
  });
});

describe('loadNote', () => {
  it('calls a run noisy when other work loaded more than half the cores at its start', () => {
    expect(loadNote([1.2, 1, 1], [3, 2, 1], 2)).toMatch(
      /^\*\*Noisy run\.\*\* .*1\.20 \/ 1\.00 \/ 1\.00 at the start/,
    );
    expect(loadNote([0.4, 1, 1], [3, 2, 1], 2)).toContain('Nothing else was busy when the run started.');
  });
});

describe('renderSummary', () => {
  it('shows each headline as a row, with the command, the date and the budgets met and not met', () => {
    const summary = renderSummary(report());
    expect(
      tableAfter(
        summary,
        summary.split('\n').find((l) => l.startsWith('Headline'))!,
      ),
    ).toEqual([
      '| measure | target | result |',
      '| --- | --- | --- |',
      '| persistent get vs direct Dapr, concurrency 1 / 8 | daprd + Redis | 0.80x / 0.75x |',
      '| AES-256-GCM | in process | 5.00x |',
    ]);
    expect(summary).toContain('`npm run bench` on 2026-12-01T16:00:00Z');
    expect(summary).toContain('1 met, 1 not met');
    expect(summary).toContain('[BENCHMARKS.md](BENCHMARKS.md)');
  });
});

describe('renderJson', () => {
  it('carries the budgets no workload measures beside the measured ones', () => {
    const json = JSON.parse(renderJson(report())) as { budgets: unknown[] };
    expect(json.budgets).toHaveLength(3 + UNMEASURED_BUDGETS.length);
  });
});
