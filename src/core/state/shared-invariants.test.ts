import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/embedded/memory-event-bus.ts';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import type { Json } from '../json.ts';
import { collectSharedEvents, type SharedEventsCollector } from '../../testing/shared-events-collector.ts';
import { createKeyIndex } from './key-index.ts';
import { assertSharedInvariants, type PublishedSharedEvents } from './shared-invariants.ts';
import { SharedModel } from './shared-model.ts';
import { createSharedState } from './shared-state.ts';

// The checker must fail when the state is wrong, or the crash tests prove nothing.

let kv: KvStore;
let bus: EventBus;
let events: SharedEventsCollector;
let model: SharedModel;
const found = { found: true as const, updated_at: '2030-01-01T00:00:00.000Z' };

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  bus = createMemoryEventBus();
  await kv.init();
  events = await collectSharedEvents(bus, { quietMs: 2 });
  const state = createSharedState(kv, bus, { tenant: 't1' });
  model = new SharedModel();
  for (const [agent, key, value] of [
    ['a1', 'a', 1],
    ['a2', 'a', 2],
    ['a1', 'b', 'x'],
    ['a3', 'c', 'gone'],
  ] as const)
    model.acknowledgeSet(agent, key, value, await state.set(agent, key, value, model.versionOf(key)));
  await state.delete('a2', 'c');
  model.acknowledgeDelete('a2', 'c');
  await state.settle();
});
afterEach(async () => {
  await events.close();
  await bus.close();
  await kv.close();
});

const check = (published: () => Promise<PublishedSharedEvents> = () => events.published(), store = kv) =>
  assertSharedInvariants(store, bus, 't1', model, { published });

/** The published events with `change` applied to the list of change events. */
function alteredChanges(
  change: (changes: PublishedSharedEvents['changes']) => PublishedSharedEvents['changes'],
) {
  return async () => {
    const published = await events.published();
    return { ...published, changes: change(published.changes) };
  };
}

describe('shared invariants', () => {
  it('hold for a namespace written as acknowledged', async () => {
    await expect(check()).resolves.toBeUndefined();
  });

  it('find a lost write', async () => {
    model.acknowledgeSet('a1', 'b', 'newer', { version: 2 });
    await expect(check()).rejects.toThrow(
      /"b": get answered .*"version":1.*, the last acknowledged write is .*"version":2/,
    );
  });

  it('find a wrong last writer', async () => {
    model.live.set('b', { value: 'x', version: 1, owner_agent: 'a9' });
    await expect(check()).rejects.toThrow(/"b": listed as .*"owner_agent":"a1"/);
  });

  it('find a live key missing from list', async () => {
    await createKeyIndex(kv, { namespace: 't1/shared/' }).remove('b');
    await expect(check()).rejects.toThrow(/list answered \["a"\], the live keys are \["a","b"\]/);
  });

  it('find a deleted key that reads as live', async () => {
    model.acknowledgeDelete('a1', 'b');
    await expect(check()).rejects.toThrow(/"b": deleted, but get answered/);
  });

  it('find a usage counter that is not the sum of the live values', async () => {
    const shards = await kv.getBulk(Array.from({ length: 16 }, (_, n) => `t1/shared/u/${n}`));
    const [key, entry] = [...shards][0]!;
    await kv.save(key, { ...(entry.value as object), bytes: 7 + (entry.value as { bytes: number }).bytes });
    await expect(check()).rejects.toThrow(/usage counts 11 bytes, the live values take 4/);
  });

  it('find an intent that is never cleared', async () => {
    const head = (await kv.get('t1/shared/h/b'))!.value as Record<string, Json>;
    const change = {
      id: randomUUID(),
      version: 1,
      updated_at: found.updated_at,
      meta: { owner_agent: 'a1' },
    };
    await kv.save('t1/shared/h/b', { ...head, follow_ups: [change] });
    await expect(check()).rejects.toThrow(/"b": its head still carries changes to announce/);
  });

  it('find a change without its audit record', async () => {
    await kv.delete(`t1/audit/p/${new Date().toISOString().slice(0, 10)}/0`);
    await expect(check()).rejects.toThrow(/set of "a" version 1 by a1 has no audit record/);
  });

  it('find a change that was never published, or published without its notification', async () => {
    await expect(check(alteredChanges((changes) => changes.slice(1)))).rejects.toThrow(
      /set of "a" version 1 by a1 was never published/,
    );
    const withoutNotifications = async () => ({ ...(await events.published()), notifications: [] });
    await expect(check(withoutNotifications)).rejects.toThrow(/has no matching notification/);
  });

  it('find an event for a change that was never committed', async () => {
    const phantom = {
      id: randomUUID(),
      tenant: 't1',
      key: 'b',
      version: 2,
      owner_agent: 'a1',
      operation: 'set',
      at: found.updated_at,
    };
    await expect(check(alteredChanges((changes) => [...changes, phantom]))).rejects.toThrow(
      /was published for a change that was not committed/,
    );
  });

  it('ignore other tenants and repeated deliveries', async () => {
    const other = createSharedState(kv, bus, { tenant: 't2' });
    await other.set('a1', 'a', 1, 0);
    await other.settle();
    await expect(check(alteredChanges((changes) => [...changes, ...changes]))).resolves.toBeUndefined();
  });

  it('find a version that is not the next one, or reused after a delete', () => {
    expect(() => model.acknowledgeSet('a1', 'c', 'again', { version: 1 })).toThrow(/version 1, expected 2/);
    expect(() => model.acknowledgeSet('a1', 'a', 5, { version: 4 })).toThrow(/version 4, expected 3/);
  });

  it('refuse an outcome of a crashed write that is neither before nor after it', () => {
    const write = { op: 'set', agent: 'a1', value: 'mine' } as const;
    expect(() =>
      model.observe('b', { ...found, value: 'other', version: 2, owner_agent: 'a1' }, write),
    ).toThrow(/crashed set/);
    expect(() =>
      model.observe('b', { ...found, value: 'mine', version: 2, owner_agent: 'a2' }, write),
    ).toThrow(/crashed set/);
    const missing = { value: null, version: 0, found: false, owner_agent: null, updated_at: null } as const;
    expect(() => model.observe('b', missing, write)).toThrow(/crashed set/);
    expect(() =>
      model.observe(
        'b',
        { ...found, value: 'x', version: 1, owner_agent: 'a1' },
        { op: 'delete', agent: 'a2' },
      ),
    ).not.toThrow();
    model.observe(
      'c',
      { ...found, value: 'back', version: 2, owner_agent: 'a1' },
      { ...write, value: 'back' },
    );
    expect(model.live.get('c')).toEqual({ value: 'back', version: 2, owner_agent: 'a1' });
  });
});
