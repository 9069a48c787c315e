import { createSqliteKvStore } from '../adapters/embedded/sqlite-kv-store.ts';
import { useEngineRuntime, type EngineRuntime } from '../core/engine/engine-runtime.ts';
import type { KvStore } from '../ports/kv-store.ts';
import { heldBackground } from './held-background.ts';
import { countingCalls, type CallCounts } from './kv-spies.ts';

/**
 * What the call-count tests measure on: an in-memory SQLite store behind a counting
 * wrapper (`store`), whose engine runtime holds background work until `drain()`, so
 * that what is counted is exactly what a caller waited for.
 */
export interface CountedStore {
  /** Counted; its engine runtime is `runtime`. */
  readonly store: KvStore;
  /** The same store uncounted, with an engine runtime of its own: another worker. */
  readonly raw: KvStore;
  readonly runtime: EngineRuntime;
  drain(): Promise<void>;
  counts(): CallCounts;
  reset(): void;
  /** The store calls `call` made before it answered (earlier background work drained first), and the keys they read. */
  callsOf(call: () => Promise<unknown>): Promise<{ calls: number; keysRead: number }>;
  /** Drains, then closes the store. */
  close(): Promise<void>;
}

export async function openCountedStore(): Promise<CountedStore> {
  const kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  const counting = countingCalls(kv);
  const held = heldBackground();
  useEngineRuntime(counting.store, held.runtime);
  return {
    store: counting.store,
    raw: kv,
    counts: counting.counts,
    reset: counting.reset,
    runtime: held.runtime,
    drain: held.drain,
    async callsOf(call) {
      await held.drain();
      counting.reset();
      await call();
      const { calls, keysRead } = counting.counts();
      return { calls, keysRead };
    },
    async close() {
      await held.drain();
      await kv.close();
    },
  };
}
