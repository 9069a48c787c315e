import { createEngineRuntime, type EngineRuntime } from '../core/engine/engine-runtime.ts';

/**
 * An engine runtime whose background work waits until `drain()`, so that a test counts
 * exactly the store calls a caller waited for, and what follows the answer runs when
 * the test says.
 */
export function heldBackground(): { runtime: EngineRuntime; drain(): Promise<void> } {
  const held: (() => Promise<void>)[] = [];
  const inner = createEngineRuntime();
  async function drain(): Promise<void> {
    while (held.length > 0) await Promise.all(held.splice(0).map((task) => task()));
  }
  return {
    drain,
    runtime: {
      background: {
        run: (_what, task) => void held.push(task),
        later: (what, ms, task) => inner.background.later(what, ms, async () => void held.push(task)),
        // Held tasks run when the test drains them, so there is no moment to wait out.
        pause: () => Promise.resolve(),
        settle: drain,
        async close() {
          await inner.background.close();
          await drain();
        },
      },
      singleton: (kind, namespace, create) => inner.singleton(kind, namespace, create),
    },
  };
}
