import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/embedded/memory-event-bus.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { runSharedCounterContention } from '../../testing/shared-counter-contention.ts';

let kv: KvStore;
let bus: EventBus;

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  bus = createMemoryEventBus();
  await kv.init();
  await bus.init();
});
afterEach(async () => {
  await bus.close();
  await kv.close();
});

/**
 * The embedded store answers within the same turn of the event loop, so one agent could
 * run many increments before another gets to read. A networked store yields on every
 * operation; so does this wrapper, which makes the agents interleave as they would there.
 */
function yielding(inner: KvStore): KvStore {
  const after =
    <A extends unknown[], R>(operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await yieldToLoop();
      return operation(...args);
    };
  return {
    ...inner,
    get: after(inner.get),
    getBulk: after(inner.getBulk),
    save: after(inner.save),
    delete: after(inner.delete),
    transact: after(inner.transact),
  };
}

it('loses no update when 32 agents each increment one shared counter 50 times', async () => {
  const result = await runSharedCounterContention(yielding(kv), bus);
  if (process.env['CONTENTION_REPORT'] !== undefined) console.info(result);
  expect(result).toMatchObject({ value: 1600, version: 1600 });
  // The agents really contended: writes were refused and retried.
  expect(result.conflicts).toBeGreaterThan(1600);
  // Nobody published a change that its own writer was still publishing.
  expect(result.changeEvents).toBe(1600);
}, 120_000);
