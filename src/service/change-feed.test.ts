import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryBroker, createMemoryEventBus, createSqliteKvStore } from '../adapters/embedded/index.ts';
import { createSessions } from '../core/sessions/sessions.ts';
import { SHARED_CHANGES_TOPIC, type SharedChangeEvent } from '../core/state/shared-events.ts';
import { createSharedState } from '../core/state/shared-state.ts';
import { createWatches } from '../core/watch/watches.ts';
import { createLogger } from '../logging.ts';
import type { EventBus } from '../ports/event-bus.ts';
import { createLiveChanges, startChangeDelivery } from './change-feed.ts';

const within = (assertion: () => void | Promise<void>) =>
  vi.waitFor(assertion, { timeout: 2000, interval: 5 });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Buses on one broker, like replicas on one pub/sub component. */
function replicas(count: number): EventBus[] {
  const broker = createMemoryBroker({ retryDelayMs: 1, log: () => {} });
  const buses = Array.from({ length: count }, () => createMemoryEventBus({ broker }));
  cleanups.push(async () => void (await Promise.all(buses.map((bus) => bus.close()))));
  return buses;
}

/** A logger whose lines are kept. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', destination), lines };
}

function change(key: string, fields: Partial<SharedChangeEvent> = {}): SharedChangeEvent {
  return {
    id: randomUUID(),
    tenant: 't1',
    key,
    version: 1,
    owner_agent: 'agent-a',
    operation: 'set',
    at: '2030-01-01T00:00:00.000Z',
    ...fields,
  };
}

describe('startChangeDelivery', () => {
  it('hands each change to one replica, parsed', async () => {
    const buses = replicas(2);
    const delivered: SharedChangeEvent[][] = [[], []];
    for (const [i, bus] of buses.entries()) {
      const feed = await startChangeDelivery(
        bus,
        { deliver: async (event) => void delivered[i]!.push(event) },
        createLogger('silent'),
      );
      cleanups.push(() => feed.close());
    }
    const events = Array.from({ length: 6 }, (_, i) => change(`k${i}`));
    for (const event of events) await buses[0]!.publish(SHARED_CHANGES_TOPIC, event);
    await within(() => expect(delivered.flat()).toHaveLength(6));
    expect(delivered[0]!.length).toBeGreaterThan(0);
    expect(delivered[1]!.length).toBeGreaterThan(0);
    expect(new Set(delivered.flat().map((event) => event.id))).toEqual(new Set(events.map((e) => e.id)));
    expect(delivered.flat()).toEqual(expect.arrayContaining(events));
  });

  it('logs and drops a change that does not parse, and lets a failed delivery come again', async () => {
    const [bus] = replicas(1);
    const { logger, lines } = capturedLogger();
    const attempts: string[] = [];
    const feed = await startChangeDelivery(
      bus!,
      {
        deliver: async (event) => {
          attempts.push(event.key);
          if (attempts.length === 1) throw new Error('store down');
        },
      },
      logger,
    );
    cleanups.push(() => feed.close());
    await bus!.publish(SHARED_CHANGES_TOPIC, { key: 'no id or tenant' });
    await bus!.publish(SHARED_CHANGES_TOPIC, change('retried'));
    await within(() => expect(attempts).toEqual(['retried', 'retried']));
    await within(() => expect(lines).toHaveLength(2));
    expect(lines.map((line) => [line.level, line.msg]).sort()).toEqual([
      [40, 'delivering a shared change to inboxes failed; the bus will deliver it again'],
      [40, 'dropped a shared change event that does not parse'],
    ]);
  });

  it('fills the inbox of a watcher from a shared write, end to end on the embedded store', async () => {
    const [bus] = replicas(1);
    const kv = createSqliteKvStore({ path: ':memory:' });
    await kv.init();
    cleanups.push(() => kv.close());
    const sessions = createSessions(kv);
    const watches = createWatches(kv, sessions);
    const feed = await startChangeDelivery(bus!, watches, createLogger('silent'));
    cleanups.push(() => feed.close());
    const { session_id } = await sessions.open({ tenant: 't1', agent: 'agent-b' });
    await watches.subscribe({ tenant: 't1', agent: 'agent-b', sessionId: session_id, prefix: 'config.' });
    const shared = createSharedState(kv, bus!, { tenant: 't1' });
    await shared.set('agent-a', 'config.mode', 'production', 0);
    await shared.set('agent-a', 'other', 1, 0);
    await shared.delete('agent-a', 'config.mode');
    const inbox = watches.inbox('t1', 'agent-b');
    await within(async () => expect(await inbox.unread()).toBe(2));
    const { entries } = await inbox.list();
    expect(
      entries.map((e) => [e.event.key, e.event.operation, e.event.version, e.event.owner_agent]),
    ).toEqual([
      ['config.mode', 'set', 1, 'agent-a'],
      ['config.mode', 'delete', 1, 'agent-a'],
    ]);
  });
});

describe('createLiveChanges', () => {
  it('gives every replica every change, to the listeners of its tenant and prefix', async () => {
    const buses = replicas(2);
    const seen = new Map<string, string[]>();
    const listen = (name: string) => (event: SharedChangeEvent) =>
      void seen.set(name, [...(seen.get(name) ?? []), event.key]);
    const lives = await Promise.all(buses.map((bus) => createLiveChanges(bus)));
    cleanups.push(async () => void (await Promise.all(lives.map((live) => live.close()))));
    lives[0]!.listen('t1', 'config.', listen('one/t1/config.'));
    lives[1]!.listen('t1', 'config.', listen('two/t1/config.'));
    lives[1]!.listen('t1', '', listen('two/t1/all'));
    lives[1]!.listen('t2', '', listen('two/t2/all'));
    for (const event of [change('config.mode'), change('other'), change('config.x', { tenant: 't2' })])
      await buses[0]!.publish(SHARED_CHANGES_TOPIC, event);
    await within(() => expect(seen.get('two/t2/all')).toEqual(['config.x']));
    await within(() => expect(seen.get('two/t1/all')).toEqual(['config.mode', 'other']));
    expect(seen.get('one/t1/config.')).toEqual(['config.mode']);
    expect(seen.get('two/t1/config.')).toEqual(['config.mode']);
  });

  it('passes a change delivered twice on once, stops at unsubscribe, drops what does not parse', async () => {
    const [bus] = replicas(1);
    const live = await createLiveChanges(bus!);
    cleanups.push(() => live.close());
    const keys: string[] = [];
    const unsubscribe = live.listen('t1', '', (event) => void keys.push(event.key));
    const event = change('once');
    await bus!.publish(SHARED_CHANGES_TOPIC, event);
    await bus!.publish(SHARED_CHANGES_TOPIC, event);
    await bus!.publish(SHARED_CHANGES_TOPIC, { not: 'a change' });
    await bus!.publish(SHARED_CHANGES_TOPIC, change('marker'));
    await within(() => expect(keys).toEqual(['once', 'marker']));
    unsubscribe();
    const probe: string[] = [];
    live.listen('t1', '', (e) => void probe.push(e.key));
    await bus!.publish(SHARED_CHANGES_TOPIC, change('after'));
    await within(() => expect(probe).toEqual(['after']));
    expect(keys).toEqual(['once', 'marker']);
  });

  it('keeps other listeners when one throws, and tells every stream when it closes', async () => {
    const [bus] = replicas(1);
    const live = await createLiveChanges(bus!);
    const keys: string[] = [];
    const closed: string[] = [];
    live.listen(
      't1',
      '',
      () => {
        throw new Error('broken stream');
      },
      () => closed.push('broken'),
    );
    live.listen(
      't1',
      '',
      (event) => void keys.push(event.key),
      () => closed.push('healthy'),
    );
    await bus!.publish(SHARED_CHANGES_TOPIC, change('first'));
    await bus!.publish(SHARED_CHANGES_TOPIC, change('second'));
    await within(() => expect(keys).toEqual(['first', 'second']));
    await live.close();
    // The broken listener was removed at its failure; the healthy one is told.
    expect(closed).toEqual(['healthy']);
  });
});
