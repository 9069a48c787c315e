import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, InjectedCrash, type FaultyKvStore } from '../../testing/faulty-kv-store.ts';
import { createSessions, type Sessions } from '../sessions/sessions.ts';
import type { SharedChangeEvent } from '../state/shared-events.ts';
import { watchKeys } from './watch-keys.ts';
import { createWatches, type Watches } from './watches.ts';

// Correctness with single-key CAS alone, proven: a fault-injecting store stops "the process" after the Nth store
// operation of `deliver` (or `ack`), for every N, with the cut-off write lost or
// applied. After recovery the change is delivered again, as the bus does, and the
// inboxes must hold every change exactly once, in gapless sequence, with no store
// record left outside the live range.

const clock = Date.parse('2030-01-01T00:00:00.000Z');
const now = () => new Date(clock);

interface World {
  readonly kv: KvStore;
  readonly faulty: FaultyKvStore;
  readonly sessions: Sessions;
  readonly watches: Watches;
}

async function world(inboxUnread: number): Promise<World> {
  const kv = createSqliteKvStore({ path: ':memory:', now: () => clock });
  await kv.init();
  const faulty = createFaultyKvStore(kv);
  // Sessions run on the real store: only the watch operations are cut off.
  const sessions = createSessions(kv, { now });
  const watches = createWatches(faulty, sessions, { now, limits: { inboxUnread } });
  return { kv, faulty, sessions, watches };
}

function change(key: string): SharedChangeEvent {
  return {
    id: randomUUID(),
    tenant: 't1',
    key,
    version: 1,
    owner_agent: 'writer',
    operation: 'set',
    at: now().toISOString(),
  };
}

async function subscribe(w: World, agent: string, prefix: string): Promise<string> {
  const { session_id } = await w.sessions.open({ tenant: 't1', agent });
  await w.watches.subscribe({ tenant: 't1', agent, sessionId: session_id, prefix });
  return session_id;
}

/** Runs `operation` with the store cut off after `n` operations; answers whether it finished. */
async function crashing(w: World, n: number, applyCutOffWrite: boolean, operation: () => Promise<unknown>) {
  w.faulty.crashAfter(n, { applyCutOffWrite });
  try {
    await operation();
    return true;
  } catch (error) {
    if (!(error instanceof InjectedCrash)) throw error;
    return false;
  } finally {
    w.faulty.recover();
  }
}

/**
 * The inbox of `agent` holds exactly `delivered` from `first` on (each once, in gapless
 * sequence up to `delivered.length`), and the store holds entry records for exactly
 * that range.
 */
async function expectInbox(
  w: World,
  agent: string,
  delivered: readonly string[],
  { first, dropped }: { first: number; dropped: number },
) {
  const page = await w.watches.inbox('t1', agent).list({ limit: 1000 });
  const last = delivered.length;
  expect(page.entries.map((entry) => entry.seq)).toEqual(range(first, last));
  expect(new Set(page.entries.map((entry) => entry.event.id))).toEqual(new Set(delivered.slice(first - 1)));
  expect(page.unread).toBe(last - first + 1);
  expect(page.dropped).toBe(dropped);
  const keys = watchKeys('t1').inbox(agent);
  const stored = await w.kv.getBulk(range(1, last + 3).map(keys.entry));
  expect([...stored.keys()].sort()).toEqual(range(first, last).map(keys.entry));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

const scenarios = [
  { name: 'deliver', inboxUnread: 10_000, redeliverFirst: true },
  { name: 'deliver, then another change before the redelivery', inboxUnread: 10_000, redeliverFirst: false },
  { name: 'deliver to a full inbox (dropping the oldest)', inboxUnread: 2, redeliverFirst: true },
];

describe('watches survive a crash after any store operation', () => {
  for (const scenario of scenarios) {
    for (const applyCutOffWrite of [false, true]) {
      it(`${scenario.name}, the cut-off write ${applyCutOffWrite ? 'applied' : 'lost'}`, async () => {
        let crashes = 0;
        for (let n = 0; ; n++) {
          const w = await world(scenario.inboxUnread);
          await subscribe(w, 'agent-b', 'config.');
          await subscribe(w, 'agent-b', 'config.x');
          await subscribe(w, 'agent-c', '');
          const ended = await subscribe(w, 'agent-d', '');
          const first = change('config.a');
          await w.watches.deliver(first);
          await w.sessions.end('t1', ended);

          const crashed = change('config.xy');
          const finished = await crashing(w, n, applyCutOffWrite, () => w.watches.deliver(crashed));
          const next = change('config.z');
          const order = scenario.redeliverFirst ? [crashed, next] : [next, crashed];
          for (const event of order) await w.watches.deliver(event);
          // Twice for agent-b: both of its subscriptions match `config.xy`.
          const forB = ids([first, ...order.flatMap((e) => (e === crashed ? [e, e] : [e]))]);
          const kept = (delivered: string[]) => {
            const from = Math.max(1, delivered.length - scenario.inboxUnread + 1);
            return { first: from, dropped: from - 1 };
          };
          await expectInbox(w, 'agent-b', forB, kept(forB));
          const forC = ids([first, ...order]);
          await expectInbox(w, 'agent-c', forC, kept(forC));
          await expectInbox(w, 'agent-d', ids([first]), { first: 1, dropped: 0 });
          const subscriptionsOfD = await w.kv.get(watchKeys('t1').subscriptions('agent-d'));
          expect(subscriptionsOfD?.value).toEqual({ subscriptions: [] });
          await w.kv.close();
          if (finished) break;
          crashes++;
        }
        // Proves the loop crashed at every step of a delivery to three inboxes.
        expect(crashes).toBeGreaterThanOrEqual(15);
      });
    }
  }

  for (const applyCutOffWrite of [false, true]) {
    it(`ack, the cut-off write ${applyCutOffWrite ? 'applied' : 'lost'}`, async () => {
      let crashes = 0;
      for (let n = 0; ; n++) {
        const w = await world(10_000);
        await subscribe(w, 'agent-b', '');
        const events = [change('a'), change('b'), change('c')];
        for (const event of events) await w.watches.deliver(event);
        const inbox = w.watches.inbox('t1', 'agent-b');
        const finished = await crashing(w, n, applyCutOffWrite, () => inbox.ack({ through: 2 }));
        expect(await inbox.ack({ through: 2 })).toEqual({ unread: 1 });
        await expectInbox(w, 'agent-b', ids(events), { first: 3, dropped: 0 });
        await w.kv.close();
        if (finished) break;
        crashes++;
      }
      expect(crashes).toBeGreaterThanOrEqual(3);
    });
  }
});

function ids(events: readonly SharedChangeEvent[]): string[] {
  return events.map((event) => event.id);
}
