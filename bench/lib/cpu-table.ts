import type { Measurement } from './measure.ts';
import { fmt, type Table } from './results.ts';

/** What a CPU table says it measures, one sentence for the section's description. */
export const CPU_DESCRIPTION =
  'On-CPU time of each process per completed operation, in µs: all its threads (PostgreSQL with its backends), ' +
  'read from /proc right before and right after each measured window and divided by the operations completed in it, ' +
  'so unlike ops/s it does not move with other load on the machine.';

/** One measured cell of a workload: the cells naming it (e.g. op, concurrency, side) and its measurement. */
export interface CpuRow {
  readonly cells: readonly string[];
  readonly measurement: Measurement;
}

/**
 * A table of µs per operation with a column per process (in the order the rows first
 * name them) and their total; a process a row did not read shows as `–`.
 */
export function cpuTable(nameColumns: readonly string[], rows: readonly CpuRow[]): Table {
  const processes = [...new Set(rows.flatMap((row) => (row.measurement.cpu ?? []).map((p) => p.label)))];
  return {
    columns: [...nameColumns, ...processes.map((label) => `${label} µs`), 'total µs'],
    rows: rows.map(({ cells, measurement }) => {
      const cpu = measurement.cpu ?? [];
      const usPerOp = processes.map((label) => cpu.find((p) => p.label === label)?.usPerOp ?? Number.NaN);
      const total = cpu.length === 0 ? Number.NaN : cpu.reduce((sum, p) => sum + p.usPerOp, 0);
      return [...cells, ...usPerOp.map(fmt.int), fmt.int(total)];
    }),
  };
}
