import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDenialAudit } from '../../src/core/identity/denial-audit.ts';
import { apiClient, type ApiClient } from '../../src/testing/api/api-client.ts';
import {
  agentstateComponents,
  startDaprTestWorker,
  type TestWorker,
} from '../../src/testing/api/test-worker.ts';
import {
  describeWithDapr,
  freePort,
  makeTempDir,
  removeTempDir,
  startDaprd,
  startRedis,
  type DaprSidecar,
  type RedisServer,
} from '../../src/testing/harness/index.ts';

// Other apps reach agentstate through their own sidecars (Dapr service invocation), and
// the worker's app-id policy decides what each may do. Four sidecars share one sqlite
// name registry: agentstate's (with the worker as its app), and three callers without
// an app: `agent-gateway` (acts for agents of tenant acme), `reporting` (a supervisor
// of acme that may not act for agents) and `intruder` (not in the policy).
const policy = {
  apps: {
    'agent-gateway': { tenant: 'acme', roles: ['agent'], actForAgents: true },
    reporting: { tenant: 'acme', roles: ['supervisor'] },
  },
};

describeWithDapr('service invocation: apps call agentstate through their sidecars, within the policy', () => {
  const appApiToken = randomBytes(24).toString('hex');
  let dir: string;
  let redis: RedisServer;
  let sidecars: DaprSidecar[] = [];
  let w: TestWorker;
  /** agentstate as each app reaches it: its own sidecar's invoke API. */
  let gateway: ApiClient;
  let reporting: ApiClient;
  let intruder: ApiClient;

  beforeAll(async () => {
    dir = await makeTempDir('service-invocation');
    redis = await startRedis();
    const components = await agentstateComponents(redis, dir);
    const appPort = await freePort();
    const caller = (appId: string) => startDaprd({ appId, components: [], nameResolution: 'sqlite' });
    sidecars = await Promise.all([
      startDaprd({
        appId: 'agentstate',
        appPort,
        appApiToken,
        nameResolution: 'sqlite',
        components,
      }),
      caller('agent-gateway'),
      caller('reporting'),
      caller('intruder'),
    ]);
    const [agentstate, ...callers] = sidecars as [DaprSidecar, DaprSidecar, DaprSidecar, DaprSidecar];
    w = await startDaprTestWorker(agentstate, appPort, {
      APP_API_TOKEN: appApiToken,
      AGENTSTATE_POLICY: JSON.stringify(policy),
    });
    await agentstate.waitHealthy();
    [gateway, reporting, intruder] = callers.map((sidecar) =>
      apiClient(`${sidecar.httpEndpoint}/v1.0/invoke/agentstate/method`),
    ) as [ApiClient, ApiClient, ApiClient];
  });

  afterAll(async () => {
    await w?.close();
    await Promise.allSettled(sidecars.map((sidecar) => sidecar.stop()));
    await redis?.stop();
    if (dir !== undefined) await removeTempDir(dir);
  });

  it("lets the gateway, acting for agent-1, write and read agent-1's state, as agent-1 sees it", async () => {
    const value = { plan: ['search', 'summarise'] };
    const set = await gateway.call('state.persistent.set', { key: 'k', value }, { agent: 'agent-1' });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.version).toBe(1);

    const rpc = await gateway.call('state.persistent.get', { key: 'k' }, { agent: 'agent-1' });
    expect(rpc.status, JSON.stringify(rpc.body)).toBe(200);
    expect(rpc.body.value).toEqual(value);
    const rest = await gateway.request('GET', '/v1/agents/agent-1/state/k', undefined, { agent: 'agent-1' });
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body.value).toEqual(value);

    const own = await w.api.call(
      'state.persistent.get',
      { key: 'k' },
      { token: await w.token('acme', 'agent-1') },
    );
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body).toMatchObject({ value, version: 1 });
  });

  it("refuses the gateway acting for agent-1 on agent-2's state, and audits who acted", async () => {
    const agent2 = await w.token('acme', 'agent-2');
    await w.api.request('PUT', '/v1/agents/agent-2/state/k', 'agent-2 only', { token: agent2 });

    const read = await gateway.request('GET', '/v1/agents/agent-2/state/k', undefined, { agent: 'agent-1' });
    expect(read.status, JSON.stringify(read.body)).toBe(403);
    expect(read.body.error.code).toBe('Forbidden');
    const write = await gateway.request('PUT', '/v1/agents/agent-2/state/k', 'overwritten', {
      agent: 'agent-1',
    });
    expect(write.status, JSON.stringify(write.body)).toBe(403);
    expect((await w.api.call('state.persistent.get', { key: 'k' }, { token: agent2 })).body.value).toBe(
      'agent-2 only',
    );

    const { records } = await createDenialAudit(w.worker.adapters.kv).list('acme', { limit: 1000 });
    expect(records.find((r) => r.action === 'GET /v1/agents/agent-2/state/k')?.caller).toMatchObject({
      principal: 'agent-1',
      via: 'dapr',
      appId: 'agent-gateway',
      actingFor: 'agent-gateway',
    });
  });

  it('writes in tenant acme only: agent-1 of another tenant does not see it', async () => {
    const other = await w.token('other', 'agent-1');
    const res = await w.api.call('state.persistent.get', { key: 'k' }, { token: other });
    expect(res.status, JSON.stringify(res.body)).toBe(404);
    expect(res.body.error.code).toBe('KeyNotFound');
  });

  it('gives an app the roles of its policy: reporting reads as a supervisor but may not write', async () => {
    const read = await reporting.request('GET', '/v1/agents/agent-1/state/k');
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body.value).toEqual({ plan: ['search', 'summarise'] });
    const write = await reporting.request('PUT', '/v1/agents/agent-1/state/k', 'overwritten');
    expect(write.status, JSON.stringify(write.body)).toBe(403);
  });

  it('refuses x-agent-id from an app whose policy lacks actForAgents', async () => {
    const res = await reporting.call('state.persistent.get', { key: 'k' }, { agent: 'agent-1' });
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.error.code).toBe('Forbidden');
    expect(res.body.error.message).toMatch(/actForAgents/);
  });

  it('refuses an app the policy does not list', async () => {
    const res = await intruder.call('state.persistent.get', { key: 'k' }, { agent: 'agent-1' });
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.error.code).toBe('Forbidden');
    expect(res.body.error.message).toContain('intruder');
    expect(JSON.stringify(res.body)).not.toContain('summarise');
  });

  it('refuses a caller that sends its own dapr-caller-app-id through its sidecar', async () => {
    // daprd (1.18) forwards the caller's header and appends the true one after it.
    const headers = { 'dapr-caller-app-id': 'agent-gateway' };
    const res = await intruder.call('state.persistent.get', { key: 'k' }, { agent: 'agent-1', headers });
    expect(res.status, JSON.stringify(res.body)).toBe(401);
    expect(res.body.error).toMatchObject({
      code: 'Unauthenticated',
      message: expect.stringMatching(/appears 2 times/),
    });
  });

  it('trusts dapr-caller-app-id on a direct call only next to the app API token', async () => {
    const forged = { 'dapr-caller-app-id': 'agent-gateway' };
    for (const headers of [forged, { ...forged, 'dapr-api-token': 'not-the-app-api-token' }]) {
      const res = await w.api.call('state.persistent.get', { key: 'k' }, { agent: 'agent-1', headers });
      expect(res.status, JSON.stringify(res.body)).toBe(401);
      expect(res.body.error.code).toBe('Unauthenticated');
    }
    // The same request with the token daprd holds passes: the token is what counts.
    const res = await w.api.call(
      'state.persistent.get',
      { key: 'k' },
      { agent: 'agent-1', headers: { ...forged, 'dapr-api-token': appApiToken } },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
});
