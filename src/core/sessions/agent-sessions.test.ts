import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { agentSessions } from './agent-sessions.ts';
import { createSessions, type Sessions } from './sessions.ts';

const tenant = 't1';
let clock: number;
let kv: KvStore;
let sessions: Sessions;
const now = () => new Date(clock);
const indexed = () => createKeyIndex(kv, { namespace: `${tenant}/a/agent-1/s/` }).list();

beforeEach(async () => {
  clock = Date.parse('2030-01-01T00:00:00.000Z');
  kv = createSqliteKvStore({ path: ':memory:', now: () => clock });
  await kv.init();
  sessions = createSessions(kv, { now, idleTimeoutSeconds: 60, maxLifetimeSeconds: 3600 });
});
afterEach(() => kv.close());

async function openAt(agent: string): Promise<string> {
  clock += 1000;
  return (await sessions.open({ tenant, agent })).session_id;
}

describe("an agent's session index", () => {
  it('lists the live sessions of one agent, newest first, a page at a time', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await openAt('agent-1'));
    await openAt('agent-2');
    const first = await sessions.listOfAgent(tenant, 'agent-1', { limit: 3 });
    expect(first.sessions.map((s) => s.session_id)).toEqual(ids.slice(2).reverse());
    const second = await sessions.listOfAgent(tenant, 'agent-1', { limit: 3, cursor: first.cursor ?? '' });
    expect(second.sessions.map((s) => s.session_id)).toEqual(ids.slice(0, 2).reverse());
    expect(second.cursor).toBeUndefined();
    expect((await sessions.listOfAgent(tenant, 'agent-2')).sessions).toHaveLength(1);
  });

  it('skips ended and idle-expired sessions, and collects entries once they are dead for good', async () => {
    const ended = await openAt('agent-1');
    const idle = await openAt('agent-1');
    clock += 30_000;
    const live = await openAt('agent-1');
    await sessions.end(tenant, ended);
    clock += 40_000; // `idle` has been idle for 71 s of its 60.
    expect((await sessions.listOfAgent(tenant, 'agent-1')).sessions.map((s) => s.session_id)).toEqual([live]);
    // The ended one is gone from the index; the idle one stays until its hard expiry.
    expect((await indexed()).keys.map((k) => k.split('/')[1])).toEqual([live, idle]);
    clock += 3600_000;
    expect((await sessions.listOfAgent(tenant, 'agent-1')).sessions).toEqual([]);
    expect((await indexed()).keys).toEqual([]);
  });

  it('keeps an entry whose session record is not written yet (a create in progress)', async () => {
    const created_at = new Date(clock).toISOString();
    const hard_expires_at = new Date(clock + 3600_000).toISOString();
    const session_id = '0190f1c4-0000-7000-8000-000000000001';
    await agentSessions(kv, tenant, 'agent-1', now).add({ session_id, created_at, hard_expires_at });
    expect((await sessions.listOfAgent(tenant, 'agent-1')).sessions).toEqual([]);
    expect((await indexed()).keys).toHaveLength(1);
  });
});
