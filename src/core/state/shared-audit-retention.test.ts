import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/embedded/memory-event-bus.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createEngineRuntime, type EngineRuntime } from '../engine/engine-runtime.ts';
import { createAuditTrail } from './shared-audit.ts';
import { createSharedState } from './shared-state.ts';

// The audit trail's retention as the shared state that writes it applies it: records are
// stamped by the state's clock, and each write on a new day drops the days past retention.

let kv: KvStore;
let bus: EventBus;
let runtime: EngineRuntime;
let clock: Date;

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  bus = createMemoryEventBus();
  await kv.init();
  runtime = createEngineRuntime();
});
afterEach(async () => {
  await runtime.background.close();
  await bus.close();
  await kv.close();
});

/** Sets `key` at `when` on the injected clock, and waits until its audit record is written. */
async function setAt(when: string, key: string, auditRetentionDays?: number): Promise<void> {
  clock = new Date(when);
  const state = createSharedState(kv, bus, {
    tenant: 't1',
    now: () => clock,
    runtime,
    ...(auditRetentionDays === undefined ? {} : { auditRetentionDays }),
  });
  await state.set('ops', key, { at: when }, 0);
  await state.settle();
}

async function auditedKeys(): Promise<(string | undefined)[]> {
  return (await createAuditTrail(kv, 't1', { runtime }).readAll()).map((record) => record.key);
}

describe('audit retention of shared changes, on an injected clock', () => {
  it('keeps a day for 90 days by default and drops it with the first change after', async () => {
    await setAt('2030-01-01T10:00:00.000Z', 'new-year');
    await setAt('2030-02-15T10:00:00.000Z', 'february');
    // 2030-04-01 is 90 days after 2030-01-01: still kept.
    await setAt('2030-04-01T23:59:59.000Z', 'april-1');
    expect(await auditedKeys()).toEqual(['new-year', 'february', 'april-1']);

    await setAt('2030-04-02T00:00:00.000Z', 'april-2');
    expect(await auditedKeys()).toEqual(['february', 'april-1', 'april-2']);
    expect(await kv.get('t1/audit/p/2030-01-01/0')).toBeUndefined();
  });

  it('applies a configured retention instead of the default', async () => {
    await setAt('2030-01-01T10:00:00.000Z', 'day-0', 7);
    await setAt('2030-01-08T10:00:00.000Z', 'day-7', 7);
    expect(await auditedKeys()).toEqual(['day-0', 'day-7']);
    await setAt('2030-01-09T10:00:00.000Z', 'day-8', 7);
    expect(await auditedKeys()).toEqual(['day-7', 'day-8']);
  });
});
