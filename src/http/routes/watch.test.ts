import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryEventBus, createSqliteKvStore } from '../../adapters/embedded/index.ts';
import type { Caller } from '../../core/identity/caller.ts';
import { createSessions } from '../../core/sessions/sessions.ts';
import { SHARED_CHANGES_TOPIC, type SharedChangeEvent } from '../../core/state/shared-events.ts';
import { inboxPageSchema } from '../../core/watch/watch-schemas.ts';
import { createWatches, type Watches } from '../../core/watch/watches.ts';
import { createLogger } from '../../logging.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createLiveChanges, type LiveChanges } from '../../service/change-feed.ts';
import { readSse, type SseMessage } from '../../testing/sse-reader.ts';
import { errorHandler, notFoundHandler } from '../error-handler.ts';
import { watchRoutes } from './watch.ts';

const within = (assertion: () => void | Promise<void>) =>
  vi.waitFor(assertion, { timeout: 3000, interval: 5 });

let kv: KvStore;
let bus: EventBus;
let live: LiveChanges;
let watches: Watches;
let server: Server;
let base: string;
/** Live listeners open right now, to see streams clean up. */
let listening = 0;

beforeAll(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  bus = createMemoryEventBus();
  live = await createLiveChanges(bus);
  const sessions = createSessions(kv);
  watches = createWatches(kv, sessions);
  const counted: Pick<LiveChanges, 'listen'> = {
    listen(...args) {
      listening++;
      const stop = live.listen(...args);
      return () => {
        listening--;
        stop();
      };
    },
  };
  const app = express();
  app.use(express.json());
  // Stands for the authentication middleware: the caller comes from a test header.
  app.use((req, _res, next) => {
    req.caller = JSON.parse(req.header('x-test-caller') ?? 'null') as Caller;
    next();
  });
  app.use(watchRoutes({ watches, live: counted, heartbeatMs: 50 }));
  app.use(notFoundHandler());
  app.use(errorHandler(createLogger('silent')));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // agent-b watches config.* from a session.
  const { session_id } = await sessions.open({ tenant: 't1', agent: 'agent-b' });
  await watches.subscribe({ tenant: 't1', agent: 'agent-b', sessionId: session_id, prefix: 'config.' });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await live.close();
  await bus.close();
  await kv.close();
});

const agentB: Caller = { tenant: 't1', principal: 'agent-b', roles: ['agent'], via: 'token' };
const agentC: Caller = { ...agentB, principal: 'agent-c' };
const supervisor: Caller = { ...agentB, principal: 'boss', roles: ['supervisor'] };
const otherTenant: Caller = { ...agentB, tenant: 't2' };

function call(caller: Caller, path: string, init: RequestInit = {}) {
  return fetch(`${base}${path}`, {
    ...init,
    headers: { 'x-test-caller': JSON.stringify(caller), 'content-type': 'application/json' },
  });
}

async function errorCode(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
}

function change(key: string, tenant = 't1'): SharedChangeEvent {
  return {
    id: randomUUID(),
    tenant,
    key,
    version: 3,
    owner_agent: 'agent-a',
    operation: 'set',
    at: '2030-01-01T00:00:00.000Z',
  };
}

describe('GET /v1/shared/watch', () => {
  const streams: AbortController[] = [];
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.abort();
  });

  async function open(caller: Caller, query = '') {
    const controller = new AbortController();
    streams.push(controller);
    const res = await fetch(`${base}/v1/shared/watch${query}`, {
      headers: { 'x-test-caller': JSON.stringify(caller) },
      signal: controller.signal,
    });
    return { res, controller };
  }

  it('streams the changes of the caller’s tenant under the prefix as Server-Sent Events', async () => {
    const { res } = await open(agentB, '?prefix=config.');
    // The headers arrive before any change: the client knows it is subscribed.
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toContain('no-cache');
    const { messages } = readSse(res);
    const wanted = change('config.mode');
    for (const event of [change('other.key'), change('config.mode', 't2'), wanted])
      await bus.publish(SHARED_CHANGES_TOPIC, event);
    await within(() => expect(messages.filter((m) => m.event === 'change')).toHaveLength(1));
    const [message] = messages.filter((m) => m.event === 'change');
    expect(message!.id).toBe(wanted.id);
    const { id, key, version, owner_agent, operation, at } = wanted;
    expect(JSON.parse(message!.data!)).toEqual({ id, key, version, owner_agent, operation, at });
  });

  it('streams every change without a prefix, and a numeric-looking prefix is text', async () => {
    const all = readSse((await open(agentB)).res).messages;
    const years = readSse((await open(agentB, '?prefix=2024')).res).messages;
    await within(() => expect(listening).toBe(2));
    for (const key of ['a', '2024.q1', '2025']) await bus.publish(SHARED_CHANGES_TOPIC, change(key));
    const keys = (messages: SseMessage[]) =>
      messages.filter((m) => m.event === 'change').map((m) => (JSON.parse(m.data!) as { key: string }).key);
    await within(() => expect(keys(all)).toEqual(['a', '2024.q1', '2025']));
    expect(keys(years)).toEqual(['2024.q1']);
  });

  it('sends heartbeat comments and stops listening when the client goes away', async () => {
    await within(() => expect(listening).toBe(0));
    const { res, controller } = await open(agentB, '?prefix=config.');
    const { messages } = readSse(res);
    expect(listening).toBe(1);
    await within(() => expect(messages.filter((m) => m.comment === 'heartbeat').length).toBeGreaterThan(1));
    controller.abort();
    await within(() => expect(listening).toBe(0));
  });

  it('refuses a bad prefix or an unknown parameter with InvalidInput before streaming', async () => {
    for (const query of ['?prefix=a%00b', `?prefix=${'x'.repeat(513)}`, '?prefix=a&prefix=b', '?since=1']) {
      const { res } = await open(agentB, query);
      expect(await errorCode(res), query).toEqual([400, 'InvalidInput']);
    }
    expect(listening).toBe(0);
  });
});

describe('the inbox over REST', () => {
  it('lists the unread entries, counts them and acknowledges them', async () => {
    const events = [change('config.a'), change('other'), change('config.b')];
    for (const event of events) await watches.deliver(event);

    let res = await call(agentB, '/v1/agents/agent-b/inbox');
    expect(res.status).toBe(200);
    const page = inboxPageSchema.parse(await res.json());
    expect(page.entries.map((e) => [e.seq, e.event.key, e.event.id])).toEqual([
      [1, 'config.a', events[0]!.id],
      [2, 'config.b', events[2]!.id],
    ]);
    expect(page).toMatchObject({ count: 2, unread: 2, dropped: 0 });

    res = await call(agentB, '/v1/agents/agent-b/inbox?after=1&limit=5');
    expect(((await res.json()) as { entries: { seq: number }[] }).entries.map((e) => e.seq)).toEqual([2]);

    res = await call(agentB, '/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":1}' });
    expect([res.status, await res.json()]).toEqual([200, { unread: 1 }]);
    res = await call(agentB, '/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":1}' });
    expect(await res.json()).toEqual({ unread: 1 });
    res = await call(agentB, '/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":2}' });
    expect(await res.json()).toEqual({ unread: 0 });
    res = await call(agentB, '/v1/agents/agent-b/inbox');
    expect(await res.json()).toEqual({ entries: [], count: 0, unread: 0, dropped: 0 });
  });

  it('answers bad input with InvalidInput', async () => {
    const cases: Array<[string, RequestInit?]> = [
      ['/v1/agents/agent-b/inbox?limit=0'],
      ['/v1/agents/agent-b/inbox?limit=ten'],
      ['/v1/agents/agent-b/inbox?after=-1'],
      ['/v1/agents/agent-b/inbox?cursor=x'],
      ['/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{}' }],
      ['/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":"1"}' }],
      ['/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":99}' }],
      ['/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":' }],
      ['/v1/agents/b%2F..%2Fx/inbox'],
    ];
    for (const [path, init] of cases)
      expect(await errorCode(await call(agentB, path, init)), path).toEqual([400, 'InvalidInput']);
  });

  it('lets an agent read only its own inbox, a supervisor read any but acknowledge none', async () => {
    await watches.deliver(change('config.c'));
    expect(await errorCode(await call(agentC, '/v1/agents/agent-b/inbox'))).toEqual([403, 'Forbidden']);
    expect(
      await errorCode(
        await call(agentC, '/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":3}' }),
      ),
    ).toEqual([403, 'Forbidden']);
    const res = await call(supervisor, '/v1/agents/agent-b/inbox');
    expect(((await res.json()) as { unread: number }).unread).toBe(1);
    expect(
      await errorCode(
        await call(supervisor, '/v1/agents/agent-b/inbox/ack', { method: 'POST', body: '{"through":3}' }),
      ),
    ).toEqual([403, 'Forbidden']);
    // The caller's tenant is the only one reachable: agent-b of t2 has an inbox of its own.
    const other = await call(otherTenant, '/v1/agents/agent-b/inbox');
    expect([other.status, ((await other.json()) as { unread: number }).unread]).toEqual([200, 0]);
  });
});
