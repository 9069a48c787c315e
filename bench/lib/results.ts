import type { HttpClient } from './http-client.ts';
import type { Measurement } from './measure.ts';

/** A table of the report: cells are already formatted text. */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface Section {
  readonly title: string;
  /** What was measured and against what, one paragraph. */
  readonly description: string;
  readonly table: Table;
  readonly notes: readonly string[];
}

/** One budget of the design's section 7, judged from this run's figures. */
export interface BudgetCheck {
  readonly budget: string;
  /** `undefined` when this run could not judge it (not measured, or not at the budget's size). */
  readonly met: boolean | undefined;
  readonly measured: string;
}

/** One line of the README's summary: the figure a reader looks for first. */
export interface Headline {
  /** What was measured, e.g. `persistent get vs direct, concurrency 1 / 8 / 32`. */
  readonly measure: string;
  /** Where: `daprd + Redis`, `embedded (SQLite)`, `in process`. */
  readonly target: string;
  readonly result: string;
}

/** What a workload hands the report: its sections, its budget lines, and raw figures for `--json`. */
export interface WorkloadResult {
  readonly sections: readonly Section[];
  readonly budgets: readonly BudgetCheck[];
  /** Its figures for the README's summary; none when it has no headline figure. */
  readonly headlines?: readonly Headline[];
  readonly data: unknown;
}

export interface BenchSettings {
  readonly quick: boolean;
  /** Seconds each throughput measurement runs. */
  readonly measureSeconds: number;
  readonly concurrencies: readonly number[];
  /** Which of get and set the persistent and embedded workloads measure. */
  readonly ops: readonly ('get' | 'set')[];
}

/** What every workload gets: the settings, the one HTTP client, and a progress line. */
export interface BenchContext {
  readonly settings: BenchSettings;
  readonly http: HttpClient;
  progress(message: string): void;
}

export const fmt = {
  ops: (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'),
  ms: (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–'),
  ratio: (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '–'),
  int: (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'),
  bytes: (n: number) => {
    if (!Number.isFinite(n)) return '–';
    if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(2)} MB`;
    if (n >= 1_000) return `${(n / 1_000).toFixed(1)} kB`;
    return `${Math.round(n)} B`;
  },
};

/** `ops/s (p50 / p99 ms)` of a measurement, with its error count when there were errors. */
export function describeMeasurement(m: Measurement): string {
  const errors = m.errors > 0 ? `, ${m.errors} errors` : '';
  return `${fmt.ops(m.opsPerSec)}/s (p50 ${fmt.ms(m.p50Ms)}, p99 ${fmt.ms(m.p99Ms)} ms${errors})`;
}

/** The error samples of measurements that had errors, as report notes. */
export function errorNotes(label: string, ...measurements: Measurement[]): string[] {
  return measurements
    .filter((m) => m.errors > 0)
    .map(
      (m) =>
        `${label} at concurrency ${m.concurrency}: ${m.errors} errors, e.g. ${m.errorSamples.join(' | ')}`,
    );
}
