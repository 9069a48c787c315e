import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectError } from '../../src/testing/api/capability-suite.ts';
import { startDaprBackedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';
import { describeWithDapr, startRedis, type RedisServer } from '../../src/testing/harness/index.ts';

// A platform operator's full backup on daprd + Redis with the blob binding on local
// storage, through REST: two tenants' persistent and shared state backed up in one,
// changed and deleted, restored, read back exactly; another tenant's operator cannot.

const PLATFORM = 'platform-ops';
const tenants = ['acme', 'globex'];
const agents = ['bot-1', 'bot-2'];

describeWithDapr('a platform operator backs up and restores every tenant on daprd + Redis', () => {
  let redis: RedisServer;
  let worker: TestWorker;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    redis = await startRedis();
    worker = await startDaprBackedTestWorker(redis, {
      AGENTSTATE_BACKUP_CHUNK_BYTES: '4096',
      AGENTSTATE_PLATFORM_TENANT: PLATFORM,
    });
    for (const tenant of [PLATFORM, ...tenants])
      tokens[tenant] = await worker.token(tenant, 'ops', ['operator']);
  }, 180_000);
  afterAll(async () => {
    await worker?.close();
    await redis?.stop();
  });

  const api = (
    tenant: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) =>
    worker.api.request(method, path, body, {
      token: tokens[tenant]!,
      ...(headers === undefined ? {} : { headers }),
    });
  const putShared = (tenant: string, key: string, value: unknown, version: number) =>
    api(tenant, 'PUT', `/v1/shared/keys/${key}`, value, { 'if-match': `"${version}"` });

  /** What a reader of `tenant` sees: each key's versions and the shared values with their writers. */
  async function readBack(tenant: string) {
    const persistent: Record<string, unknown> = {};
    for (const agent of agents) {
      for (const { key } of (await api(tenant, 'GET', `/v1/agents/${agent}/state`)).body.entries) {
        const history = await api(
          tenant,
          'GET',
          `/v1/agents/${agent}/state/${encodeURIComponent(key)}/history`,
        );
        persistent[`${agent}/${key}`] = history.body.versions.map(
          ({ value, created_at }: Record<string, unknown>) => ({ value, created_at }),
        );
      }
    }
    const shared: Record<string, unknown> = {};
    for (const { key } of (await api(tenant, 'GET', '/v1/shared/keys')).body.entries) {
      const entry = await api(tenant, 'GET', `/v1/shared/keys/${encodeURIComponent(key)}`);
      shared[key] = { value: entry.body.value, owner_agent: entry.body.owner_agent };
    }
    return { persistent, shared };
  }

  async function backUp(tenant: string): Promise<string> {
    const created = await api(tenant, 'POST', '/v1/backups', {});
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.backup_id as string;
    await expect
      .poll(async () => (await api(tenant, 'GET', `/v1/backups/${id}`)).body.status, {
        timeout: 60_000,
        interval: 200,
      })
      .toBe('complete');
    return id;
  }

  it(
    'restores both tenants exactly, and refuses the backup to another tenant',
    { timeout: 180_000 },
    async () => {
      for (const tenant of tenants) {
        for (const agent of agents) {
          for (const value of [`${tenant} ${agent} draft`, { tenant, agent, text: 'x'.repeat(300) }])
            expect((await api(tenant, 'PUT', `/v1/agents/${agent}/state/memory`, value)).status).toBe(200);
        }
        expect((await putShared(tenant, 'counter', 1, 0)).status).toBe(200);
        expect((await putShared(tenant, `flag-${tenant}`, true, 0)).status).toBe(200);
      }
      const before = Object.fromEntries(
        await Promise.all(tenants.map(async (tenant) => [tenant, await readBack(tenant)])),
      );

      const id = await backUp(PLATFORM);
      const listed = await api(PLATFORM, 'GET', '/v1/backups');
      expect(
        listed.body.backups.map((b: { backup_id: string; scope: string }) => [b.backup_id, b.scope]),
      ).toEqual([[id, 'full']]);
      expect((await api('acme', 'GET', '/v1/backups')).body.count).toBe(0);

      for (const tenant of tenants) {
        expect((await api(tenant, 'PUT', '/v1/agents/bot-1/state/memory', 'changed')).status).toBe(200);
        expect((await api(tenant, 'DELETE', '/v1/agents/bot-2/state/memory')).status).toBe(200);
        expect((await api(tenant, 'PUT', '/v1/agents/bot-1/state/extra', 'not in the backup')).status).toBe(
          200,
        );
        expect((await putShared(tenant, 'counter', 2, 1)).status).toBe(200);
        await api(tenant, 'DELETE', `/v1/shared/keys/flag-${tenant}`);
      }

      expectError(await api('acme', 'POST', `/v1/backups/${id}/restore`, {}), 404, 'BackupNotFound');
      expect((await api('acme', 'GET', '/v1/agents/bot-1/state/memory')).body.value).toBe('changed');

      const restored = await api(PLATFORM, 'POST', `/v1/backups/${id}/restore`, {});
      expect(restored.status, JSON.stringify(restored.body)).toBe(200);
      expect(restored.body).toMatchObject({
        restored: true,
        agents_restored: agents,
        shared_state_restored: true,
        tenants_restored: tenants.map((tenant) => ({ tenant, agents_restored: agents })),
      });
      for (const tenant of tenants) expect(await readBack(tenant)).toEqual(before[tenant]);
      // CAS goes on from the restored version.
      const counter = await api('globex', 'GET', '/v1/shared/keys/counter');
      expect(counter.body.value).toBe(1);
      expectError(await putShared('globex', 'counter', 3, 2), 409, 'VersionConflict');
      expect((await putShared('globex', 'counter', 3, counter.body.version)).status).toBe(200);
    },
  );
});
