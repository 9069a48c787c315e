import type { KvStore } from '../../ports/kv-store.ts';
import {
  createBackgroundWork,
  type BackgroundErrorReporter,
  type BackgroundWork,
} from './background-work.ts';

/**
 * What the engine keeps per worker and store across calls: the background work that
 * follows answers, and the per-namespace state of usage aggregation and collection.
 * Nothing in it is needed for correctness after a crash; it only batches and caches.
 */
export interface EngineRuntime {
  readonly background: BackgroundWork;
  /** Per-namespace singletons (usage aggregators, collectors), created on first use. */
  singleton<T>(kind: string, namespace: string, create: () => T): T;
}

export function createEngineRuntime(report: BackgroundErrorReporter = defaultReport): EngineRuntime {
  const singletons = new Map<string, unknown>();
  return {
    background: createBackgroundWork(report),
    singleton<T>(kind: string, namespace: string, create: () => T): T {
      const id = `${kind}\u0000${namespace}`;
      const found = singletons.get(id) as T | undefined;
      // Re-inserted on every use, so the Map's order is least recently used first.
      if (found !== undefined) singletons.delete(id);
      singletons.set(id, found ?? create());
      // Sessions make namespaces without end. Dropping one is safe: it only batches and
      // caches, its work in flight finishes, and the next use starts a fresh one.
      if (singletons.size > MAX_SINGLETONS) singletons.delete(singletons.keys().next().value as string);
      return singletons.get(id) as T;
    },
  };
}

/** Namespaces whose aggregators and collectors a worker keeps at once. */
const MAX_SINGLETONS = 10_000;

const runtimes = new WeakMap<KvStore, EngineRuntime>();

/**
 * The runtime of `kv` in this worker, created on first use, so that every domain
 * object built over the same store (one per call) shares one.
 */
export function engineRuntimeOf(kv: KvStore): EngineRuntime {
  let runtime = runtimes.get(kv);
  if (runtime === undefined) {
    runtime = createEngineRuntime();
    runtimes.set(kv, runtime);
  }
  return runtime;
}

/** Sets the runtime of `kv`, e.g. one whose errors go to the worker's log. */
export function useEngineRuntime(kv: KvStore, runtime: EngineRuntime): void {
  runtimes.set(kv, runtime);
}

function defaultReport(what: string, error: unknown): void {
  process.emitWarning(`agentstate background work failed (${what}): ${String(error)}`);
}
