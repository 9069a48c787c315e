import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/core/identity/caller.ts';
import { createDenialAudit } from '../../src/core/identity/denial-audit.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

// Roles x scopes x operations, all through HTTP. Tenant t1 holds agent `owner`'s
// persistent state and session and the tenant's shared state; each caller reads and
// writes each scope through the capability RPC and REST.

let w: TestWorker;
let session: string;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
  const owner = await w.token('t1', 'owner');
  session = (await w.api.request('POST', '/v1/sessions', {}, { token: owner })).body.session_id;
  await w.api.call('state.persistent.set', { key: 'k', value: 'mine' }, { token: owner });
  await w.api.call('state.session.set', { key: 'k', value: 'mine' }, { token: owner, session });
  await w.api.call('state.shared.set', { key: 'k', value: 'ours', expected_version: 0 }, { token: owner });
}, 60_000);
afterAll(async () => w?.close());

interface Who {
  readonly name: string;
  readonly tenant: string;
  readonly subject: string;
  readonly roles: Role[];
}
const callers: Who[] = [
  { name: 'the owner agent', tenant: 't1', subject: 'owner', roles: ['agent'] },
  { name: 'another agent of the tenant', tenant: 't1', subject: 'other', roles: ['agent'] },
  { name: 'a supervisor of the tenant', tenant: 't1', subject: 'boss', roles: ['supervisor'] },
  { name: 'an operator of the tenant', tenant: 't1', subject: 'ops', roles: ['operator'] },
  { name: 'an agent of another tenant with the same id', tenant: 't2', subject: 'owner', roles: ['agent'] },
  { name: 'an operator of another tenant', tenant: 't2', subject: 'ops', roles: ['operator'] },
];

type Outcome = 'allowed' | 'Forbidden' | 'not visible';
// [persistent read, persistent write, session read, session write, shared read, shared write]
const expected: Record<string, Outcome[]> = {
  'the owner agent': ['allowed', 'allowed', 'allowed', 'allowed', 'allowed', 'allowed'],
  'another agent of the tenant': ['Forbidden', 'Forbidden', 'Forbidden', 'Forbidden', 'allowed', 'allowed'],
  'a supervisor of the tenant': ['allowed', 'Forbidden', 'allowed', 'Forbidden', 'allowed', 'allowed'],
  'an operator of the tenant': ['allowed', 'allowed', 'allowed', 'allowed', 'allowed', 'allowed'],
  // Another tenant never reaches t1: its names resolve in its own tenant.
  'an agent of another tenant with the same id': Array(6).fill('not visible'),
  'an operator of another tenant': Array(6).fill('not visible'),
};

const operations = [
  {
    scope: 'persistent',
    mode: 'read',
    rpc: ['state.persistent.get', { key: 'k' }],
    rest: ['GET', '/v1/agents/owner/state/k'],
  },
  {
    scope: 'persistent',
    mode: 'write',
    rpc: ['state.persistent.set', { key: 'w', value: 1 }],
    rest: ['PUT', '/v1/agents/owner/state/w', 1],
  },
  {
    scope: 'session',
    mode: 'read',
    rpc: ['state.session.get', { key: 'k' }],
    rest: ['GET', '/v1/sessions/{session}/state/k'],
  },
  {
    scope: 'session',
    mode: 'write',
    rpc: ['state.session.set', { key: 'w', value: 1 }],
    rest: ['PUT', '/v1/sessions/{session}/state/w', 1],
  },
  {
    scope: 'shared',
    mode: 'read',
    rpc: ['state.shared.get', { key: 'k' }],
    rest: ['GET', '/v1/shared/keys/k'],
  },
  {
    scope: 'shared',
    mode: 'write',
    rpc: ['state.shared.set', { key: 'w', value: 1, expected_version: 0 }],
    rest: ['PUT', '/v1/shared/keys/w', 1],
  },
] as const;

describe.each(callers)('$name', (who) => {
  for (const [i, operation] of operations.entries()) {
    const outcome = expected[who.name]![i]!;
    for (const surface of ['rpc', 'rest'] as const) {
      it(`${operation.mode}s ${operation.scope} state over ${surface}: ${outcome}`, async () => {
        const token = await w.token(who.tenant, who.subject, who.roles);
        const res =
          surface === 'rpc'
            ? // Only persistent state is addressed by agent; sessions and shared state by id and tenant.
              await w.api.call(operation.rpc[0], operation.rpc[1], {
                token,
                session,
                ...(operation.scope === 'persistent' ? { agent: 'owner' } : {}),
              })
            : await w.api.request(
                operation.rest[0],
                operation.rest[1].replace('{session}', session),
                operation.rest[2],
                // A shared write over REST carries the version it read; 0 creates.
                { token, ...(operation.scope === 'shared' ? { headers: { 'if-match': '0' } } : {}) },
              );
        if (outcome === 'Forbidden') {
          expect(res.status, JSON.stringify(res.body)).toBe(403);
          expect(res.body.error.code).toBe('Forbidden');
          return;
        }
        if (outcome === 'not visible') {
          // The other tenant's own (empty) state, or its own sessions, which do not hold t1's.
          if (operation.mode === 'read') {
            expect([200, 404]).toContain(res.status);
            expect(JSON.stringify(res.body)).not.toContain('mine');
            expect(JSON.stringify(res.body)).not.toContain('ours');
          } else {
            expect([200, 404, 409]).toContain(res.status);
          }
          return;
        }
        expect([200, 409], JSON.stringify(res.body)).toContain(res.status);
        if (operation.mode === 'read') expect(JSON.stringify(res.body)).toMatch(/mine|ours/);
      });
    }
  }
});

describe('what the other tenant reached', () => {
  it("left tenant t1's state as it was and listed none of it", async () => {
    const t2 = await w.token('t2', 'owner');
    expect(
      (await w.api.call('state.shared.list', {}, { token: t2 })).body.entries.map(
        (e: { key: string }) => e.key,
      ),
    ).not.toContain('k');
    const owner = await w.token('t1', 'owner');
    expect((await w.api.call('state.persistent.get', { key: 'k' }, { token: owner })).body.value).toBe(
      'mine',
    );
    expect((await w.api.call('state.shared.get', { key: 'k' }, { token: owner })).body).toMatchObject({
      value: 'ours',
      version: 1,
    });
  });
});

describe('denials', () => {
  it('refuses an agent token naming another agent in x-agent-id', async () => {
    const token = await w.token('t1', 'other');
    const res = await w.api.call('state.persistent.get', { key: 'k' }, { token, agent: 'owner' });
    expect(res.status).toBe(403);
    const { records } = await createDenialAudit(w.worker.adapters.kv).list('t1', { limit: 1000 });
    expect(
      records.filter((record) => record.action === 'POST /v1/capabilities/state.persistent.get'),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ caller: expect.objectContaining({ principal: 'other' }) }),
      ]),
    );
  });

  it('audits every refused request in the caller tenant', async () => {
    const token = await w.token('t1', 'snoop', ['agent']);
    await w.api.request('GET', '/v1/agents/owner/state/k', undefined, { token });
    const { records } = await createDenialAudit(w.worker.adapters.kv).list('t1', { limit: 1000 });
    const mine = records.filter((record) => record.caller.principal === 'snoop');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      tenant: 't1',
      action: 'GET /v1/agents/owner/state/k',
      caller: { roles: ['agent'] },
    });
    expect(mine[0]!.reason).toMatch(/may not read the state of agent "owner"/);
  });

  it('is Unauthenticated without a token, with a wrongly signed one and with an expired one', async () => {
    const { issueToken } = await import('../../src/core/identity/tokens.ts');
    const forged = (
      await issueToken('some-other-key', { tenant: 't1', subject: 'owner', roles: ['operator'] })
    ).token;
    const expired = (
      await issueToken(
        'agentstate-test-token-key-not-for-production',
        { tenant: 't1', subject: 'owner', roles: ['agent'], ttlSeconds: 1 },
        new Date(Date.now() - 3_600_000),
      )
    ).token;
    for (const token of [undefined, forged, expired, 'not-a-jwt']) {
      const res = await w.api.call(
        'state.persistent.get',
        { key: 'k' },
        token === undefined ? {} : { token },
      );
      expect(res.status, String(token)).toBe(401);
      expect(res.body.error.code).toBe('Unauthenticated');
    }
  });
});
