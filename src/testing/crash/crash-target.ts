import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { KvStore } from '../../ports/kv-store.ts';

/** One test's store, opened by a `CrashTarget`. */
export interface CrashStore {
  /** Initialised. The capability (behind the fault injector) and the invariant checks both use it. */
  readonly kv: KvStore;
  close(): Promise<void>;
}

/** How a crash-injection suite reaches one `KvStore` adapter. */
export interface CrashTarget {
  /** The store's name as the test output shows it, e.g. `dapr-redis`. */
  readonly name: string;
  /**
   * Opens an initialised store for one test. `clock` is the test's clock in milliseconds:
   * a store whose expiry can follow it (embedded) should; one whose TTLs run on real
   * time (Redis) ignores it, which the suites allow, as none waits for a TTL to run out.
   * Stores may be shared between tests: every test writes under tenants of its own.
   */
  open(clock: () => number): Promise<CrashStore>;
  /** When set, the suite is skipped and its name says why. */
  readonly skip?: string | undefined;
  /** Per test, each of which crashes at every store operation of one scenario. @default 60_000 */
  readonly testTimeoutMs?: number;
}

/** The suite's title, with the reason when it is skipped. */
export function suiteTitle(title: string, target: CrashTarget): string {
  return `${title} on ${target.name}${target.skip === undefined ? '' : ` (skipped: ${target.skip})`}`;
}

/**
 * Runs a scenario once per crash point: after 0, 1, 2, ... store operations, first with
 * the cut-off write lost and then with it applied, until the operation finishes without
 * crashing. `crashOnce` runs the scenario, checks the invariants and answers whether it
 * crashed. Checks that every operation was crashed at (at least `minimumOperations`).
 * Beside a concurrent writer (`alongsideWriter`), how many operations the call makes
 * depends on how the two interleave, so the two runs' counts are not compared.
 */
export async function crashAtEveryOperation(
  name: string,
  minimumOperations: number,
  crashOnce: (crashAt: number, applyCutOffWrite: boolean) => Promise<boolean>,
  { alongsideWriter = false }: { alongsideWriter?: boolean } = {},
): Promise<void> {
  const crashPoints: Record<string, number> = {};
  for (const applyCutOffWrite of [false, true]) {
    for (let crashAt = 0; ; crashAt++) {
      if (!(await crashOnce(crashAt, applyCutOffWrite))) {
        crashPoints[String(applyCutOffWrite)] = crashAt;
        break;
      }
    }
  }
  if (process.env['CRASH_POINTS'] !== undefined) console.info(name, crashPoints);
  // Crashing after the last operation, a write, still loses its answer when it is applied.
  if (!alongsideWriter) expect(crashPoints['true']! - crashPoints['false']!).toBeOneOf([0, 1]);
  expect(crashPoints['false']).toBeGreaterThanOrEqual(minimumOperations);
}

/** A tenant id no other test uses, also on a store shared by many runs. */
export function uniqueTenant(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
