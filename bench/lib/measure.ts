import { performance } from 'node:perf_hooks';
import { openCpuWindow, type CpuSubject, type ProcessCpu } from './process-cpu.ts';

/** Latencies of one measurement, in milliseconds, kept whole so percentiles are exact. */
export class LatencyHistogram {
  #samples: number[] = [];
  #sorted = true;

  record(ms: number): void {
    this.#samples.push(ms);
    this.#sorted = false;
  }

  get count(): number {
    return this.#samples.length;
  }

  /** The `p`-th percentile (0..100) by nearest rank; `NaN` when empty. */
  percentile(p: number): number {
    if (this.#samples.length === 0) return Number.NaN;
    if (!this.#sorted) {
      this.#samples.sort((a, b) => a - b);
      this.#sorted = true;
    }
    const rank = Math.ceil((p / 100) * this.#samples.length);
    return this.#samples[Math.min(this.#samples.length, Math.max(1, rank)) - 1] ?? Number.NaN;
  }

  mean(): number {
    if (this.#samples.length === 0) return Number.NaN;
    return this.#samples.reduce((sum, ms) => sum + ms, 0) / this.#samples.length;
  }
}

/** What one measured run did: successes only count as throughput. */
export interface Measurement {
  readonly concurrency: number;
  readonly ops: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** The first few error messages, for the report's notes. */
  readonly errorSamples: readonly string[];
  /**
   * When the measured span began and ended, in µs of the monotonic clock that V8's CPU
   * profiles also use (in any process of this machine), to pick out its samples.
   */
  readonly startedUs: number;
  readonly endedUs: number;
  /** CPU time per operation of each process asked for (`MeasureOptions.cpu`), over the measured span. */
  readonly cpu?: readonly ProcessCpu[];
}

/** Now on the monotonic clock of `process.hrtime` and of V8's CPU profiles, in µs. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * One operation of writer `writer` (0..concurrency-1), its `n`-th (0-based). Throwing
 * counts as an error and is not part of the latency.
 */
export type Operation = (writer: number, n: number) => Promise<void>;

export interface MeasureOptions {
  readonly concurrency: number;
  /** Stop starting operations after this long. One of `durationMs` or `opsPerWriter` is needed. */
  readonly durationMs?: number;
  /** Each writer does exactly this many operations. */
  readonly opsPerWriter?: number;
  /** Operations run (and thrown away) before measuring, per writer. @default 0 */
  readonly warmupOpsPerWriter?: number;
  /** Hard stop for a fixed-count run, so a stuck server cannot hold the bench. @default 120000 */
  readonly capMs?: number;
  /** Processes whose CPU time to read right before and after the measured span (not the warmup). */
  readonly cpu?: readonly CpuSubject[];
}

/**
 * Runs `op` on `concurrency` closed-loop writers (each starts its next operation when
 * the previous one answered) for a fixed duration or a fixed count, and answers
 * ops/s over the measured span with p50/p99 latency of successful operations.
 */
export async function measure(op: Operation, options: MeasureOptions): Promise<Measurement> {
  const { concurrency, durationMs, opsPerWriter, warmupOpsPerWriter = 0, capMs = 120_000, cpu } = options;
  if (durationMs === undefined && opsPerWriter === undefined)
    throw new Error('measure needs durationMs or opsPerWriter');
  const counters = Array.from({ length: concurrency }, () => 0);
  if (warmupOpsPerWriter > 0) {
    await Promise.all(
      counters.map(async (_, writer) => {
        for (let i = 0; i < warmupOpsPerWriter; i++)
          await op(writer, counters[writer]!++).catch(() => undefined);
      }),
    );
  }
  const histogram = new LatencyHistogram();
  const errorSamples: string[] = [];
  let errors = 0;
  const cpuWindow = cpu === undefined ? undefined : await openCpuWindow(cpu);
  const startedUs = monotonicUs();
  const started = performance.now();
  const deadline = started + (durationMs ?? capMs);
  await Promise.all(
    counters.map(async (_, writer) => {
      for (let i = 0; opsPerWriter === undefined || i < opsPerWriter; i++) {
        if (performance.now() >= deadline) return;
        const t0 = performance.now();
        try {
          await op(writer, counters[writer]!++);
          histogram.record(performance.now() - t0);
        } catch (error) {
          errors++;
          if (errorSamples.length < 3)
            errorSamples.push(error instanceof Error ? error.message : String(error));
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const endedUs = monotonicUs();
  const cpuUsed = await cpuWindow?.close(histogram.count);
  return {
    concurrency,
    ops: histogram.count,
    errors,
    elapsedMs,
    opsPerSec: (histogram.count / elapsedMs) * 1000,
    p50Ms: histogram.percentile(50),
    p99Ms: histogram.percentile(99),
    meanMs: histogram.mean(),
    errorSamples,
    startedUs,
    endedUs,
    ...(cpuUsed === undefined ? {} : { cpu: cpuUsed }),
  };
}

/** `a / b`, or `NaN` when either is missing. */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}
