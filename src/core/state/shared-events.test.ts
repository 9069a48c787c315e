import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/embedded/memory-event-bus.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { AppError } from '../errors.ts';
import { jsonByteLength } from '../json.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, InjectedCrash } from '../../testing/faulty-kv-store.ts';
import { collectSharedEvents, type SharedEventsCollector } from '../../testing/shared-events-collector.ts';
import { createEngineRuntime } from '../engine/engine-runtime.ts';
import { createVersionedRecords } from '../engine/versioned-records.ts';
import { createAuditTrail } from './shared-audit.ts';
import { SHARED_CHANGES_TOPIC, sharedChangeEventSchema, sharedNotificationSchema } from './shared-events.ts';
import { createSharedState, type SharedState, type SharedStateOptions } from './shared-state.ts';

let kv: KvStore;
let bus: EventBus;
let events: SharedEventsCollector;
let clock: number;
const base = Date.parse('2030-01-01T00:00:00.000Z');
const now = () => new Date(++clock);
const at = (ms: number) => new Date(base + ms).toISOString();
const uuid: unknown = expect.stringMatching(
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
);

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  bus = createMemoryEventBus();
  await kv.init();
  events = await collectSharedEvents(bus, { quietMs: 2 });
  clock = base;
});
afterEach(async () => {
  await open().settle();
  await events.close();
  await bus.close();
  await kv.close();
});

function open(options: Partial<SharedStateOptions> = {}, store: KvStore = kv, on: EventBus = bus) {
  return createSharedState(store, on, { tenant: 't1', now, ...options });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'succeeded';
}

async function auditRecords(tenant = 't1') {
  await open({ tenant }).settle();
  return createAuditTrail(kv, tenant).readAll();
}

describe('shared state: change events, notifications and audit', () => {
  it('publishes one change event and one notification per committed set and delete, and audits each', async () => {
    const state = open();
    await state.set('agent-a', 'config.mode', 'production', 0);
    await state.set('agent-b', 'config.mode', 'staging', 1);
    await state.delete('agent-c', 'config.mode');
    await state.settle();
    const { changes, notifications } = await events.published();

    expect(changes).toEqual([
      {
        id: uuid,
        tenant: 't1',
        key: 'config.mode',
        version: 1,
        owner_agent: 'agent-a',
        operation: 'set',
        at: at(1),
      },
      {
        id: uuid,
        tenant: 't1',
        key: 'config.mode',
        version: 2,
        owner_agent: 'agent-b',
        operation: 'set',
        at: at(2),
      },
      {
        id: uuid,
        tenant: 't1',
        key: 'config.mode',
        version: 2,
        owner_agent: 'agent-c',
        operation: 'delete',
        at: at(3),
      },
    ]);
    const parsed = changes.map((event) => sharedChangeEventSchema.parse(event));
    expect(new Set(parsed.map((event) => event.id)).size).toBe(3);
    expect(notifications.map((notification) => sharedNotificationSchema.parse(notification))).toEqual(
      parsed.map((event) => ({
        id: event.id,
        kind: event.operation === 'set' ? 'state.shared.set' : 'state.shared.delete',
        tenant: 't1',
        agent: event.owner_agent,
        key: 'config.mode',
        version: event.version,
        at: event.at,
      })),
    );
    expect(await auditRecords()).toEqual(
      parsed.map((event) => ({
        id: event.id,
        tenant: 't1',
        at: event.at,
        agent: event.owner_agent,
        action: event.operation === 'set' ? 'state.shared.set' : 'state.shared.delete',
        permission: 'notify',
        outcome: 'ok',
        key: 'config.mode',
        version: event.version,
      })),
    );
    // Partitioned by day: the records are in the day's pages, which `days` lists.
    expect((await kv.get('t1/audit/days'))?.value).toEqual({ days: ['2030-01-01'] });
    expect(await kv.get('t1/audit/p/2030-01-01/0')).toBeDefined();
  });

  it('publishes and audits nothing for a refused or invalid write, nor for reads', async () => {
    const state = open({ quotaBytes: 10 });
    await state.set('a1', 'k', 'x', 0);
    await state.settle();
    await events.published();
    const before = await auditRecords();
    const refused = [
      state.set('a1', 'k', 'y', 0), // VersionConflict
      state.set('a1', 'k', 'y', 7), // VersionConflict
      state.set('a1', 'big', 'z'.repeat(20), 0), // QuotaExceeded
      state.delete('a1', 'nope'), // KeyNotFound
      state.set('a1', '', 'y', 0), // InvalidInput
    ];
    expect(await Promise.all(refused.map(codeOf))).toEqual([
      'VersionConflict',
      'VersionConflict',
      'QuotaExceeded',
      'KeyNotFound',
      'InvalidInput',
    ]);
    await state.get('k');
    await state.list();
    await state.settle();
    const { changes, notifications } = await events.published();
    expect(changes).toHaveLength(1);
    expect(notifications).toHaveLength(1);
    expect(await auditRecords()).toEqual(before);
  });

  it('keeps tenants apart in events and audit trails', async () => {
    await open().set('a1', 'k', 1, 0);
    await open({ tenant: 't2' }).set('a1', 'k', 2, 0);
    await open().settle();
    const { changes } = await events.published();
    expect(changes.map((event) => sharedChangeEventSchema.parse(event).tenant)).toEqual(['t1', 't2']);
    expect(await auditRecords('t1')).toMatchObject([{ tenant: 't1', version: 1 }]);
    expect(await auditRecords('t2')).toMatchObject([{ tenant: 't2', version: 1 }]);
  });
});

describe('shared state: at least once across failures', () => {
  /** Commits a set whose writer dies right after the head commit, before any follow-up. */
  async function crashAfterCommit(value: string, expected: number) {
    const faulty = createFaultyKvStore(kv);
    const state = open({ runtime: createEngineRuntime(() => undefined) }, faulty);
    const head = 't1/shared/h/k';
    const before = (await kv.get(head))?.etag;
    for (let operations = 1; (await kv.get(head))?.etag === before; operations++) {
      faulty.crashAfter(operations, { applyCutOffWrite: true });
      await expect(state.set('a1', 'k', value, expected)).rejects.toBeInstanceOf(InjectedCrash);
      await state.settle();
      faulty.recover();
    }
    expect((await kv.get(head))?.value).toHaveProperty('follow_ups');
  }

  const headOf = async () => (await kv.get('t1/shared/h/k'))?.value as { follow_ups?: unknown };

  const finishers: [string, (state: SharedState) => Promise<unknown>][] = [
    ['get', (state) => state.get('k')],
    ['list', (state) => state.list()],
    ['a refused set', (state) => codeOf(state.set('a2', 'k', 'stale', 0))],
    ['a set', (state) => state.set('a2', 'k', 'next', 1)],
    ['a delete', (state) => state.delete('a2', 'k')],
  ];

  it.each(finishers)('%s finishes a crashed write once its grace period is over', async (_, operation) => {
    await crashAfterCommit('committed', 0);
    const state = open();
    await state.get('k');
    await state.list();
    await state.settle();
    // Within the grace period the writer may still be at work: readers leave it alone.
    expect(await headOf()).toHaveProperty('follow_ups');
    expect((await events.published()).changes).toEqual([]);
    clock += 2000;
    await operation(state);
    await state.settle();
    expect(await headOf()).not.toHaveProperty('follow_ups');
    const { changes } = await events.published();
    expect(changes[0]).toMatchObject({ key: 'k', version: 1, owner_agent: 'a1', operation: 'set' });
    expect(await auditRecords()).toContainEqual(
      expect.objectContaining({ action: 'state.shared.set', key: 'k', version: 1, agent: 'a1' }),
    );
    await createVersionedRecords(kv, {
      namespace: 't1/shared/',
      retention: 1,
      quotaBytes: 1000,
      exceeded: () => new AppError('QuotaExceeded', 'unreachable'),
    }).recountUsage();
    expect(await state.usage()).toEqual({ bytes: (await state.list()).total_size_bytes });
  });

  it('finishes a crashed delete, freeing its quota, when the tombstone is next read', async () => {
    const state = open();
    await state.set('a1', 'k', 'x'.repeat(10), 0);
    await state.settle();
    const faulty = createFaultyKvStore(kv);
    faulty.crashAfter(2, { applyCutOffWrite: true }); // the read, then the tombstone commit
    const dying = open({ runtime: createEngineRuntime(() => undefined) }, faulty);
    await expect(dying.delete('a2', 'k')).rejects.toBeInstanceOf(InjectedCrash);
    await dying.settle();
    faulty.recover();
    expect(await state.usage()).toEqual({ bytes: 12 });
    clock += 2000;
    expect(await codeOf(state.delete('a3', 'k'))).toBe('KeyNotFound');
    await state.settle();
    expect(await state.usage()).toEqual({ bytes: 0 });
    const { changes } = await events.published();
    expect(changes.at(-1)).toMatchObject({ key: 'k', version: 1, owner_agent: 'a2', operation: 'delete' });
  });

  it('answers a committed write whose publication failed, and publishes it later under the same id', async () => {
    let failures = 1;
    const flaky: EventBus = {
      ...bus,
      async publish(topic, event) {
        if (failures-- > 0) throw new AppError('Unavailable', 'broker unreachable');
        return bus.publish(topic, event);
      },
    };
    const state = open({ runtime: createEngineRuntime(() => undefined) }, kv, flaky);
    // The write is committed: only its announcement failed, after the answer.
    expect(await state.set('a1', 'k', 'v', 0)).toEqual({ version: 1 });
    await state.settle();
    expect(await headOf()).toHaveProperty('follow_ups');
    clock += 2000;
    const reader = open();
    expect(await reader.get('k')).toMatchObject({ value: 'v', version: 1 });
    await reader.settle();
    expect(await headOf()).not.toHaveProperty('follow_ups');
    const { changes, notifications } = await events.published();
    expect(changes).toMatchObject([{ key: 'k', version: 1, operation: 'set' }]);
    const { id } = sharedChangeEventSchema.parse(changes[0]);
    expect(notifications).toMatchObject([{ id, kind: 'state.shared.set', key: 'k', version: 1 }]);
    // Audited on both attempts, under one id: the trail holds it once.
    expect(await auditRecords()).toMatchObject([{ id }]);
  });
});

/** A bus whose first publication of a change event waits, after `reached`, until `release()`. */
function gatedChanges(inner: EventBus) {
  let release = () => {};
  const opened = new Promise<void>((resolve) => (release = resolve));
  let reach = () => {};
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let armed = true;
  const gated: EventBus = {
    ...inner,
    async publish(topic, event) {
      if (armed && topic === SHARED_CHANGES_TOPIC) {
        armed = false;
        reach();
        await opened;
      }
      return inner.publish(topic, event);
    },
  };
  return { bus: gated, reached, release };
}

describe('shared state: writers that meet an unfinished change', () => {
  it('commit at once, and their changes are published after it, in version order', async () => {
    const slow = gatedChanges(bus);
    const first = open({ runtime: createEngineRuntime() }, kv, slow.bus);
    expect(await first.set('a1', 'k', 'first', 0)).toEqual({ version: 1 });
    await slow.reached; // committed and answered; its change event still to come
    const second = open();
    expect(await second.set('a2', 'k', 'second', 1)).toEqual({ version: 2 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    // The second change waits for the first, whose writer is alive and at work.
    expect((await events.published()).changes).toEqual([]);
    slow.release();
    await Promise.all([first.settle(), second.settle()]);
    const { changes, notifications } = await events.published();
    expect(changes).toMatchObject([{ version: 1 }, { version: 2 }]);
    expect(notifications).toHaveLength(2);
  });

  it('take over from a writer stalled past the grace period', async () => {
    const slow = gatedChanges(bus);
    const options = { intentGraceMs: 20, now: () => new Date() };
    const first = open({ ...options, runtime: createEngineRuntime() }, kv, slow.bus);
    await first.set('a1', 'k', 'first', 0);
    await slow.reached;
    // Real time here: the second writer's own wait ends the grace period.
    const second = open(options);
    expect(await second.set('a2', 'k', 'second', 1)).toEqual({ version: 2 });
    await second.settle();
    const taken = await events.published();
    expect(taken.changes).toMatchObject([
      { version: 1, owner_agent: 'a1' },
      { version: 2, owner_agent: 'a2' },
    ]);
    slow.release();
    await first.settle();
    // The stalled writer publishes its change again, under the id consumers dedupe by.
    const { changes } = await events.published();
    const ids = changes.map((event) => sharedChangeEventSchema.parse(event).id);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(2);
    expect(await open().usage()).toEqual({ bytes: jsonByteLength('second') });
  });
});
