import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { recordingWrites } from '../../testing/kv-spies.ts';
import { createSessions, type Sessions } from '../sessions/sessions.ts';
import type { SharedChangeEvent } from '../state/shared-events.ts';
import { watchKeys } from './watch-keys.ts';
import { inboxPageSchema, sharedWatchResultSchema } from './watch-schemas.ts';
import { createWatches, type Watches, type WatchesOptions } from './watches.ts';

const start = Date.parse('2030-01-01T00:00:00.000Z');
let clock: number;
let kv: KvStore;
let sessions: Sessions;
const now = () => new Date(clock);

beforeEach(async () => {
  clock = start;
  // The store expires records on the same clock, so expiry tests need not sleep.
  kv = createSqliteKvStore({ path: ':memory:', now: () => clock });
  await kv.init();
  sessions = createSessions(kv, { now, idleTimeoutSeconds: 600 });
});
afterEach(() => kv.close());

function open(options: WatchesOptions = {}, store: KvStore = kv): Watches {
  return createWatches(store, sessions, { now, ...options });
}

let version = 0;
function change(key: string, fields: Partial<SharedChangeEvent> = {}): SharedChangeEvent {
  return {
    id: randomUUID(),
    tenant: 't1',
    key,
    version: ++version,
    owner_agent: 'writer',
    operation: 'set',
    at: new Date(clock).toISOString(),
    ...fields,
  };
}

/** Opens a session of `agent` and subscribes it; answers both ids. */
async function watch(watches: Watches, agent: string, prefix?: string, tenant = 't1') {
  const { session_id } = await sessions.open({ tenant, agent });
  const { subscription_id } = await watches.subscribe({
    tenant,
    agent,
    sessionId: session_id,
    ...(prefix === undefined ? {} : { prefix }),
  });
  return { session_id, subscription_id };
}

async function keysIn(watches: Watches, agent: string, tenant = 't1'): Promise<string[]> {
  return (await watches.inbox(tenant, agent).list()).entries.map((entry) => entry.event.key);
}

describe('state.shared.watch: subscribe', () => {
  it('answers a subscription id, a new one each time', async () => {
    const watches = open();
    const first = await watch(watches, 'agent-b', 'config.');
    const second = await watch(watches, 'agent-b', 'config.');
    expect(sharedWatchResultSchema.parse({ subscription_id: first.subscription_id })).toBeTruthy();
    expect(first.subscription_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.subscription_id).not.toBe(first.subscription_id);
  });

  it('refuses a bad prefix or agent with InvalidInput, a dead session with SessionNotFound and another agent’s session with Forbidden, writing nothing', async () => {
    const { session_id } = await sessions.open({ tenant: 't1', agent: 'agent-b' });
    const recording = recordingWrites(kv);
    const watches = open({}, recording.store);
    const subscribe = (input: Partial<Parameters<Watches['subscribe']>[0]>) =>
      watches.subscribe({ tenant: 't1', agent: 'agent-b', sessionId: session_id, ...input });
    await expect(subscribe({ prefix: 'a\u0000b' })).rejects.toMatchObject({ code: 'InvalidInput' });
    await expect(subscribe({ prefix: 'x'.repeat(513) })).rejects.toMatchObject({ code: 'InvalidInput' });
    await expect(subscribe({ agent: '../x' })).rejects.toMatchObject({ code: 'InvalidInput' });
    await expect(subscribe({ tenant: 't/1' })).rejects.toMatchObject({ code: 'InvalidInput' });
    await expect(subscribe({ sessionId: randomUUID() })).rejects.toMatchObject({ code: 'SessionNotFound' });
    await expect(subscribe({ tenant: 't2' })).rejects.toMatchObject({ code: 'SessionNotFound' });
    await expect(subscribe({ agent: 'agent-c' })).rejects.toMatchObject({ code: 'Forbidden' });
    expect(recording.written).toEqual([]);
  });

  it('bounds the live subscriptions of an agent; subscriptions of ended sessions make room', async () => {
    const watches = open({ limits: { subscriptionsPerAgent: 2 } });
    const first = await watch(watches, 'agent-b');
    await watch(watches, 'agent-b');
    await expect(watch(watches, 'agent-b')).rejects.toMatchObject({
      code: 'SubscriptionFailed',
      details: { limit: 2 },
    });
    // Another agent has its own bound.
    await watch(watches, 'agent-c');
    await sessions.end('t1', first.session_id);
    await watch(watches, 'agent-b');
  });
});

describe('state.shared.watch: delivery', () => {
  it('delivers a change to the subscriptions whose prefix matches, and only those', async () => {
    const watches = open();
    await watch(watches, 'agent-b', 'config.');
    await watch(watches, 'agent-c');
    await watch(watches, 'agent-d', 'config.mode.');
    for (const key of ['config.mode', 'other.x', 'config', 'config.limits'])
      await watches.deliver(change(key));
    expect(await keysIn(watches, 'agent-b')).toEqual(['config.mode', 'config.limits']);
    expect(await keysIn(watches, 'agent-c')).toEqual(['config.mode', 'other.x', 'config', 'config.limits']);
    expect(await keysIn(watches, 'agent-d')).toEqual([]);
  });

  it('answers entries with the change, the subscription and the delivery time', async () => {
    const watches = open();
    const { subscription_id } = await watch(watches, 'agent-b', 'config.');
    const event = change('config.mode', { owner_agent: 'agent-a', operation: 'delete', version: 7 });
    clock += 5000;
    await watches.deliver(event);
    const page = await watches.inbox('t1', 'agent-b').list();
    expect(inboxPageSchema.parse(page)).toEqual({
      entries: [
        {
          seq: 1,
          subscription_id,
          event: {
            id: event.id,
            key: 'config.mode',
            version: 7,
            owner_agent: 'agent-a',
            operation: 'delete',
            at: event.at,
          },
          delivered_at: new Date(start + 5000).toISOString(),
        },
      ],
      count: 1,
      unread: 1,
      dropped: 0,
    });
  });

  it('delivers nothing to another tenant', async () => {
    const watches = open();
    await watch(watches, 'agent-b', '', 't2');
    await watch(watches, 'agent-b', '', 't1');
    await watches.deliver(change('config.mode', { tenant: 't1' }));
    expect(await keysIn(watches, 'agent-b', 't2')).toEqual([]);
    expect(await keysIn(watches, 'agent-b', 't1')).toEqual(['config.mode']);
    await watches.deliver(change('t2.only', { tenant: 't2' }));
    expect(await keysIn(watches, 'agent-b', 't1')).toEqual(['config.mode']);
    expect(await keysIn(watches, 'agent-b', 't2')).toEqual(['t2.only']);
  });

  it('lands a change delivered again, or concurrently, once per subscription', async () => {
    const watches = open();
    const one = await watch(watches, 'agent-b', 'config.');
    const two = await watch(watches, 'agent-b', 'config.mode');
    const event = change('config.mode');
    await watches.deliver(event);
    await watches.deliver(event);
    await Promise.all([watches.deliver(event), watches.deliver(event), watches.deliver({ ...event })]);
    const twice = change('config.other');
    await Promise.all([watches.deliver(twice), watches.deliver(twice)]);
    const page = await watches.inbox('t1', 'agent-b').list();
    expect(page.entries.map((e) => [e.seq, e.event.id, e.subscription_id])).toEqual([
      [1, event.id, one.subscription_id],
      [2, event.id, two.subscription_id],
      [3, twice.id, one.subscription_id],
    ]);
    expect(page.unread).toBe(3);
  });

  it('ends a subscription with its session: nothing arrives after the session ended or idled out', async () => {
    const watches = open();
    const ended = await watch(watches, 'agent-b', 'config.');
    await watch(watches, 'agent-c', 'config.');
    const live = await watch(watches, 'agent-d', 'config.');
    await watches.deliver(change('config.before'));
    await sessions.end('t1', ended.session_id);
    clock += 500_000;
    await sessions.get('t1', live.session_id);
    clock += 200_000; // agent-c's session idled out (600 s), agent-d's is live
    await watches.deliver(change('config.after'));
    expect(await keysIn(watches, 'agent-b')).toEqual(['config.before']);
    expect(await keysIn(watches, 'agent-c')).toEqual(['config.before']);
    expect(await keysIn(watches, 'agent-d')).toEqual(['config.before', 'config.after']);
    // The ended subscriptions are removed from the store, the live one stays.
    const keys = watchKeys('t1');
    const records = await kv.getBulk(['agent-b', 'agent-c', 'agent-d'].map(keys.subscriptions));
    expect(records.get(keys.subscriptions('agent-b'))?.value).toEqual({ subscriptions: [] });
    expect(records.get(keys.subscriptions('agent-c'))?.value).toEqual({ subscriptions: [] });
    expect(records.get(keys.subscriptions('agent-d'))?.value).toMatchObject({
      subscriptions: [{ subscription_id: live.subscription_id }],
    });
  });

  it('does not keep a session alive: deliveries are not activity of the session', async () => {
    const watches = open();
    const { session_id } = await watch(watches, 'agent-b');
    for (let i = 0; i < 6; i++) {
      clock += 100_000;
      await watches.deliver(change(`k${i}`));
    }
    await expect(sessions.get('t1', session_id)).rejects.toMatchObject({ code: 'SessionNotFound' });
    expect(await keysIn(watches, 'agent-b')).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });

  it('delivers to nobody when the tenant has no subscriptions', async () => {
    await expect(open().deliver(change('config.mode'))).resolves.toBeUndefined();
  });
});

describe('inbox', () => {
  async function filled(count: number, options: WatchesOptions = {}) {
    const watches = open(options);
    await watch(watches, 'agent-b');
    const events = Array.from({ length: count }, (_, i) => change(`k${i + 1}`));
    for (const event of events) await watches.deliver(event);
    return { watches, inbox: watches.inbox('t1', 'agent-b'), events };
  }

  it('counts unread entries and removes them as they are acknowledged', async () => {
    const { inbox, watches } = await filled(3);
    expect(await inbox.unread()).toBe(3);
    expect(await inbox.ack({ through: 2 })).toEqual({ unread: 1 });
    expect(await inbox.unread()).toBe(1);
    expect((await inbox.list()).entries.map((e) => [e.seq, e.event.key])).toEqual([[3, 'k3']]);
    // Acknowledging again, or less, changes nothing.
    expect(await inbox.ack({ through: 2 })).toEqual({ unread: 1 });
    expect(await inbox.ack({ through: 0 })).toEqual({ unread: 1 });
    await watches.deliver(change('k4'));
    expect(await inbox.ack({ through: 4 })).toEqual({ unread: 0 });
    expect(await inbox.list()).toEqual({ entries: [], count: 0, unread: 0, dropped: 0 });
    // Acknowledged entries are gone from the store.
    const inboxKeys = watchKeys('t1').inbox('agent-b');
    expect((await kv.getBulk([1, 2, 3, 4].map(inboxKeys.entry))).size).toBe(0);
  });

  it('refuses to acknowledge past the last entry, or a malformed number, with InvalidInput', async () => {
    const { inbox } = await filled(2);
    await expect(inbox.ack({ through: 3 })).rejects.toMatchObject({
      code: 'InvalidInput',
      details: { through: 3, last: 2 },
    });
    for (const through of [-1, 1.5, Number.NaN])
      await expect(inbox.ack({ through })).rejects.toMatchObject({ code: 'InvalidInput' });
    await expect(inbox.ack({} as { through: number })).rejects.toMatchObject({ code: 'InvalidInput' });
    expect(await inbox.unread()).toBe(2);
    const empty = open().inbox('t1', 'nobody');
    expect(await empty.ack({ through: 0 })).toEqual({ unread: 0 });
    await expect(empty.ack({ through: 1 })).rejects.toMatchObject({ code: 'InvalidInput' });
  });

  it('pages by sequence number with after, limit and next_after', async () => {
    const { inbox } = await filled(5);
    const first = await inbox.list({ limit: 2 });
    expect(first.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(first).toMatchObject({ count: 2, unread: 5, next_after: 2 });
    const second = await inbox.list({ after: 2, limit: 2 });
    expect(second.entries.map((e) => e.seq)).toEqual([3, 4]);
    expect(second.next_after).toBe(4);
    const last = await inbox.list({ after: 4, limit: 2 });
    expect(last.entries.map((e) => e.seq)).toEqual([5]);
    expect(last).not.toHaveProperty('next_after');
    await inbox.ack({ through: 3 });
    expect((await inbox.list({ after: 1 })).entries.map((e) => e.seq)).toEqual([4, 5]);
    for (const input of [{ limit: 0 }, { limit: 1001 }, { after: -1 }, { extra: 1 }])
      await expect(inbox.list(input as never)).rejects.toMatchObject({ code: 'InvalidInput' });
  });

  it('keeps at most the configured unread entries, dropping the oldest and counting them', async () => {
    const { inbox } = await filled(5, { limits: { inboxUnread: 3 } });
    const page = await inbox.list();
    expect(page.entries.map((e) => [e.seq, e.event.key])).toEqual([
      [3, 'k3'],
      [4, 'k4'],
      [5, 'k5'],
    ]);
    expect(page).toMatchObject({ unread: 3, dropped: 2 });
    const inboxKeys = watchKeys('t1').inbox('agent-b');
    expect([...(await kv.getBulk([1, 2, 3, 4, 5].map(inboxKeys.entry))).keys()]).toEqual(
      [3, 4, 5].map(inboxKeys.entry),
    );
  });

  it('refuses bad limits', () => {
    for (const limits of [{ subscriptionsPerAgent: 0 }, { inboxUnread: 1.5 }])
      expect(() => open({ limits })).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });
});
