import type { MachineInfo } from './machine.ts';
import type { BudgetCheck, Headline, Section, Table } from './results.ts';

export interface BenchReport {
  readonly command: string;
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  /** 1, 5 and 15-minute load averages when the run ended (the bench's own load included). */
  readonly loadAverageAtEnd: readonly number[];
  readonly budgets: readonly BudgetCheck[];
  readonly sections: readonly Section[];
  /** The figures of the README's summary, in run order. */
  readonly headlines: readonly Headline[];
  /** Workloads that could not run, with the reason. */
  readonly skipped: readonly string[];
  readonly data: Record<string, unknown>;
}

/** The design's budgets that no workload of this harness measures yet. */
export const UNMEASURED_BUDGETS: readonly BudgetCheck[] = [
  {
    budget: 'session snapshot export of 10k messages < 1 s, memory bounded',
    met: undefined,
    measured: 'not measured: no snapshot workload yet',
  },
];

/**
 * What the load averages say about the figures: the one at the start is other work
 * only; a 1-minute load above half the cores then means the run shared its cores.
 */
export function loadNote(atStart: readonly number[], atEnd: readonly number[], cores: number): string {
  const show = (load: readonly number[]) => load.map((n) => n.toFixed(2)).join(' / ');
  const figures = `Load average (1 / 5 / 15 min) ${show(atStart)} at the start, ${show(atEnd)} at the end (the bench's own processes included), on ${cores} cores.`;
  if ((atStart[0] ?? 0) > cores / 2)
    return `**Noisy run.** ${figures} Other processes were using the cores when the run started, so absolute figures are low and vary between runs; each ratio compares two measurements taken seconds apart under the same load and is the figure to read.`;
  return `${figures} Nothing else was busy when the run started.`;
}

function status(check: BudgetCheck): string {
  if (check.met === undefined) return 'not judged';
  return check.met ? 'met' : '**not met**';
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function renderTable(table: Table): string {
  const header = `| ${table.columns.map(escapeCell).join(' | ')} |`;
  const rule = `| ${table.columns.map(() => '---').join(' | ')} |`;
  const rows = table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

/** BENCHMARKS.md: header, budgets, then one section per measurement, in run order. */
export function renderMarkdown(report: BenchReport): string {
  const { machine } = report;
  const lines = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts). Do not edit by hand: run it again. -->',
    '',
    `Produced by \`${report.command}\` (${report.mode} mode) on ${report.startedAt}, in ${Math.round(report.durationSeconds)} s, at commit ${machine.commit}.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}. ` +
      `Versions: ${Object.entries(machine.versions)
        .map(([name, version]) => `${name} ${version}`)
        .join(', ')}.`,
    '',
    loadNote(machine.loadAverage, report.loadAverageAtEnd, machine.cores),
    '',
    'Every server listens on loopback; the agentstate worker runs in its own process (as in production, with request logs at info to /dev/null), ' +
      'daprd, Redis and PostgreSQL in theirs, and the load generator in the bench process, all on the same cores. ' +
      'Each workload runs against its baseline on the same daprd and store, in the same run; ratios are agentstate / baseline throughput.',
    '',
  ];
  if (report.mode === 'quick')
    lines.push(
      '_Quick mode: short measurements and a smaller namespace (budgets at 100k keys are not judged). Run `npm run bench` for the figures the budgets are judged on._',
      '',
    );
  lines.push('## Budgets', '');
  lines.push(
    renderTable({
      columns: ['budget', 'measured', 'status'],
      rows: [...report.budgets, ...UNMEASURED_BUDGETS].map((b) => [b.budget, b.measured, status(b)]),
    }),
    '',
  );
  for (const reason of report.skipped) lines.push(`- skipped: ${reason}`);
  if (report.skipped.length > 0) lines.push('');
  for (const section of report.sections) {
    lines.push(`## ${section.title}`, '', section.description, '', renderTable(section.table), '');
    for (const note of section.notes) lines.push(`- ${note}`);
    if (section.notes.length > 0) lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * The README's summary (between its markers): the headline figures of this run with
 * the command and machine that produced them, pointing at BENCHMARKS.md for the rest.
 */
export function renderSummary(report: BenchReport): string {
  const { machine } = report;
  const met = report.budgets.filter((b) => b.met === true).length;
  const notMet = report.budgets.filter((b) => b.met === false).length;
  const lines = [
    '<!-- Written by `npm run bench` (bench/run.ts) with BENCHMARKS.md. Do not edit by hand: run it again. -->',
    '',
    `Headline figures of \`${report.command}\` on ${report.startedAt} (${machine.cpu}, ${machine.cores} cores; ` +
      `load average ${machine.loadAverage.map((n) => n.toFixed(2)).join(' / ')} at the start). ` +
      `Ratios are agentstate / baseline throughput in the same run; budgets of the design's section 7: ${met} met, ${notMet} not met. ` +
      'Every figure, with latencies, is in [BENCHMARKS.md](BENCHMARKS.md).',
    '',
    renderTable({
      columns: ['measure', 'target', 'result'],
      rows: report.headlines.map((h) => [h.measure, h.target, h.result]),
    }),
  ];
  return `${lines.join('\n')}\n`;
}

/** The `--json` output: everything in the report, with the raw figures of each workload. */
export function renderJson(report: BenchReport): string {
  return `${JSON.stringify({ ...report, budgets: [...report.budgets, ...UNMEASURED_BUDGETS] }, null, 2)}\n`;
}
