import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse } from './api-client.ts';
import type { TestWorker } from './test-worker.ts';

/** The limits the suite's worker runs with, small enough to reach over HTTP. */
export const SUITE_LIMITS = {
  AGENTSTATE_SESSION_QUOTA_BYTES: '2000',
  AGENTSTATE_PERSISTENT_QUOTA_BYTES: '2000',
  AGENTSTATE_SHARED_QUOTA_BYTES: '2000',
  AGENTSTATE_PERSISTENT_RETENTION: '3',
};

export const SPEC_CAPABILITIES = [
  'state.session.get',
  'state.session.set',
  'state.session.delete',
  'state.session.list',
  'state.session.clear',
  'state.persistent.get',
  'state.persistent.set',
  'state.persistent.delete',
  'state.persistent.list',
  'state.persistent.query',
  'state.persistent.history',
  'state.shared.get',
  'state.shared.set',
  'state.shared.delete',
  'state.shared.list',
  'state.shared.watch',
  'state.snapshot.create',
  'state.snapshot.list',
  'state.snapshot.load',
  'state.briefing.generate',
  'state.backup.create',
  'state.backup.list',
  'state.backup.restore',
  'state.backup.export',
];

/** Expects the error body of `code` with the recovery actions the spec lists. */
export function expectError(res: ApiResponse, status: number, code: string, recovery: string[] = []): void {
  expect(res.body?.error?.code, JSON.stringify(res.body)).toBe(code);
  expect(res.status).toBe(status);
  expect(typeof res.body.error.message).toBe('string');
  const actions = (res.body.error.recovery as Array<{ action: string }>).map((hint) => hint.action);
  for (const action of recovery) expect(actions).toContain(action);
}

/**
 * Every capability's outputs and every error the spec lists, through HTTP, on the worker
 * `start` runs with `SUITE_LIMITS`. Each test uses its own tenant, so tests share one
 * worker and store without seeing each other.
 */
export function capabilityApiSuite(
  label: string,
  start: (env: Record<string, string>) => Promise<TestWorker>,
): void {
  describe(`capabilities over HTTP (${label})`, () => {
    let w: TestWorker;
    let tenantCount = 0;
    beforeAll(async () => {
      w = await start(SUITE_LIMITS);
    }, 120_000);
    afterAll(async () => w?.close());

    /** A fresh tenant with an agent token and an open session of that agent. */
    async function agentInFreshTenant(agent = 'agent-a') {
      const tenant = `t${++tenantCount}-${Date.now().toString(36)}`;
      const token = await w.token(tenant, agent);
      const opened = await w.api.request('POST', '/v1/sessions', {}, { token });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      const session: string = opened.body.session_id;
      const call = (name: string, input: unknown) => w.api.call(name, input, { token, session });
      return { tenant, token, session, call };
    }

    it('lists the capabilities with permission classes and JSON Schemas', async () => {
      const res = await w.api.request('GET', '/v1/capabilities', undefined, {
        token: await w.token('t0', 'a'),
      });
      expect(res.status).toBe(200);
      const listed = res.body.capabilities as Array<Record<string, any>>;
      expect(listed.map((entry) => entry.name)).toEqual(SPEC_CAPABILITIES);
      const permission = Object.fromEntries(listed.map((entry) => [entry.name, entry.permission]));
      expect(permission['state.shared.set']).toBe('notify');
      expect(permission['state.shared.delete']).toBe('notify');
      expect(permission['state.snapshot.create']).toBe('notify');
      expect(Object.values(permission).filter((value) => value === 'autonomous')).toHaveLength(18);
      for (const name of ['state.backup.create', 'state.backup.restore', 'state.backup.export'])
        expect(permission[name], name).toBe('approval_required');
      const set = listed.find((entry) => entry.name === 'state.shared.set')!;
      expect(set.input_schema).toMatchObject({
        type: 'object',
        required: expect.arrayContaining(['key', 'value', 'expected_version']),
      });
      expect(set.input_schema.additionalProperties).toBe(false);
      expect(set.output_schema).toMatchObject({
        type: 'object',
        properties: { version: { type: 'integer' } },
      });
    });

    describe('state.session.*', () => {
      it('sets, gets, lists sorted by prefix, deletes and clears', async () => {
        const { call } = await agentInFreshTenant();
        expect((await call('state.session.get', { key: 'task.current' })).body).toEqual({
          value: null,
          found: false,
        });
        expect((await call('state.session.set', { key: 'task.current', value: { step: 1 } })).body).toEqual({
          previous_value: null,
          overwritten: false,
        });
        expect((await call('state.session.set', { key: 'task.current', value: { step: 2 } })).body).toEqual({
          previous_value: { step: 1 },
          overwritten: true,
        });
        await call('state.session.set', { key: 'task.b', value: 'b' });
        await call('state.session.set', { key: 'context.x', value: [1, 2] });
        expect((await call('state.session.get', { key: 'task.current' })).body).toEqual({
          value: { step: 2 },
          found: true,
        });
        expect((await call('state.session.list', {})).body).toEqual({
          keys: ['context.x', 'task.b', 'task.current'],
          count: 3,
        });
        expect((await call('state.session.list', { prefix: 'task.' })).body).toEqual({
          keys: ['task.b', 'task.current'],
          count: 2,
        });
        const page = await call('state.session.list', { limit: 2 });
        expect(page.body).toMatchObject({ keys: ['context.x', 'task.b'], count: 2, cursor: 'task.b' });
        expect((await call('state.session.list', { cursor: page.body.cursor })).body.keys).toEqual([
          'task.current',
        ]);
        expect((await call('state.session.delete', { key: 'task.b' })).body).toEqual({
          previous_value: 'b',
          deleted: true,
        });
        expect((await call('state.session.delete', { key: 'task.b' })).body).toEqual({
          previous_value: null,
          deleted: false,
        });
        expect((await call('state.session.clear', {})).body).toEqual({ removed_count: 2 });
        expect((await call('state.session.list', {})).body).toEqual({ keys: [], count: 0 });
      });

      it('is SessionNotFound without a session, with an unknown one, and after the session ends', async () => {
        const { token, session, call } = await agentInFreshTenant();
        await call('state.session.set', { key: 'k', value: 1 });
        expectError(await w.api.call('state.session.get', { key: 'k' }, { token }), 404, 'SessionNotFound', [
          'reconnect',
        ]);
        expectError(
          await w.api.call(
            'state.session.get',
            { key: 'k' },
            { token, session: '00000000-0000-4000-8000-000000000000' },
          ),
          404,
          'SessionNotFound',
        );
        const ended = await w.api.request('DELETE', `/v1/sessions/${session}`, undefined, { token });
        expect(ended.body).toEqual({ ended: true, removed_keys: 1 });
        for (const name of [
          'state.session.get',
          'state.session.set',
          'state.session.delete',
          'state.session.list',
          'state.session.clear',
        ]) {
          const input =
            name === 'state.session.set'
              ? { key: 'k', value: 1 }
              : name.endsWith('get') || name.endsWith('delete')
                ? { key: 'k' }
                : {};
          expectError(await call(name, input), 404, 'SessionNotFound', ['reconnect']);
        }
      });

      it('is QuotaExceeded past the session quota, writing nothing', async () => {
        const { call } = await agentInFreshTenant();
        await call('state.session.set', { key: 'big', value: 'x'.repeat(1500) });
        expectError(
          await call('state.session.set', { key: 'more', value: 'y'.repeat(600) }),
          507,
          'QuotaExceeded',
          ['delete_unused', 'clear'],
        );
        expect((await call('state.session.get', { key: 'more' })).body).toEqual({
          value: null,
          found: false,
        });
      });
    });

    describe('state.persistent.*', () => {
      it('versions from 1, reads any retained version, lists, queries and answers history newest first', async () => {
        const { call } = await agentInFreshTenant();
        expect((await call('state.persistent.set', { key: 'config', value: { v: 1 } })).body).toEqual({
          version: 1,
          previous_version: 0,
        });
        expect((await call('state.persistent.set', { key: 'config', value: { v: 2 } })).body).toEqual({
          version: 2,
          previous_version: 1,
        });
        await call('state.persistent.set', { key: 'config.b', value: 'b' });
        await call('state.persistent.set', { key: 'other', value: true });
        const latest = (await call('state.persistent.get', { key: 'config' })).body;
        expect(latest).toMatchObject({ value: { v: 2 }, version: 2, found: true });
        expect(Date.parse(latest.updated_at)).toBeGreaterThanOrEqual(Date.parse(latest.created_at));
        expect((await call('state.persistent.get', { key: 'config', version: 1 })).body).toMatchObject({
          value: { v: 1 },
          version: 1,
        });
        const list = (await call('state.persistent.list', { prefix: 'config' })).body;
        expect(list.entries.map((entry: any) => [entry.key, entry.version, entry.size_bytes])).toEqual([
          ['config', 2, 7],
          ['config.b', 1, 3],
        ]);
        expect(list).toMatchObject({ count: 2, total_size_bytes: 10 });
        expect((await call('state.persistent.list', {})).body.count).toBe(3);
        const query = (await call('state.persistent.query', { prefix: 'config.' })).body;
        expect(query).toMatchObject({ count: 1, entries: [{ key: 'config.b', value: 'b', version: 1 }] });
        for (const v of [3, 4]) await call('state.persistent.set', { key: 'config', value: { v } });
        const history = (await call('state.persistent.history', { key: 'config' })).body;
        expect(history.versions.map((entry: any) => entry.version)).toEqual([4, 3, 2]);
        expect(history.count).toBe(3);
        expect(
          (await call('state.persistent.history', { key: 'config', limit: 1 })).body.versions,
        ).toMatchObject([{ version: 4, value: { v: 4 } }]);
        expectError(await call('state.persistent.get', { key: 'config', version: 1 }), 404, 'KeyNotFound', [
          'list_keys',
        ]);
        expect((await call('state.persistent.delete', { key: 'config' })).body).toEqual({ deleted: true });
        expectError(await call('state.persistent.get', { key: 'config' }), 404, 'KeyNotFound', [
          'list_keys',
          'use_session',
        ]);
        expectError(await call('state.persistent.delete', { key: 'config' }), 404, 'KeyNotFound', [
          'list_keys',
        ]);
        expectError(await call('state.persistent.history', { key: 'config' }), 404, 'KeyNotFound', [
          'list_keys',
        ]);
        expect((await call('state.persistent.set', { key: 'config', value: 5 })).body).toEqual({
          version: 5,
          previous_version: 0,
        });
      });

      it('is QuotaExceeded past the agent quota, writing nothing', async () => {
        const { call } = await agentInFreshTenant();
        await call('state.persistent.set', { key: 'big', value: 'x'.repeat(1500) });
        expectError(
          await call('state.persistent.set', { key: 'more', value: 'y'.repeat(600) }),
          507,
          'QuotaExceeded',
          ['delete_unused', 'request_increase'],
        );
        expectError(await call('state.persistent.get', { key: 'more' }), 404, 'KeyNotFound');
      });

      it('needs no session', async () => {
        const { token } = await agentInFreshTenant();
        expect((await w.api.call('state.persistent.set', { key: 'k', value: 1 }, { token })).status).toBe(
          200,
        );
      });
    });

    describe('state.shared.*', () => {
      it('creates with expected_version 0, updates with the version read, and refuses a stale one', async () => {
        const { tenant, call } = await agentInFreshTenant('agent-a');
        const b = await w.token(tenant, 'agent-b');
        expect((await call('state.shared.get', { key: 'counter' })).body).toEqual({
          value: null,
          version: 0,
          found: false,
          owner_agent: null,
          updated_at: null,
        });
        expect(
          (await call('state.shared.set', { key: 'counter', value: 1, expected_version: 0 })).body,
        ).toEqual({ version: 1 });
        const read = (await w.api.call('state.shared.get', { key: 'counter' }, { token: b })).body;
        expect(read).toMatchObject({ value: 1, version: 1, found: true, owner_agent: 'agent-a' });
        expect(
          (
            await w.api.call(
              'state.shared.set',
              { key: 'counter', value: 2, expected_version: 1 },
              { token: b },
            )
          ).body,
        ).toEqual({ version: 2 });
        const stale = await call('state.shared.set', { key: 'counter', value: 99, expected_version: 1 });
        expectError(stale, 409, 'VersionConflict', ['retry']);
        expect(stale.body.error.details).toMatchObject({ current_version: 2 });
        expectError(
          await call('state.shared.set', { key: 'counter', value: 99, expected_version: 0 }),
          409,
          'VersionConflict',
        );
        expect((await call('state.shared.get', { key: 'counter' })).body).toMatchObject({
          value: 2,
          owner_agent: 'agent-b',
        });
      });

      it('lists with owners and sizes, deletes, and is KeyNotFound for a missing key', async () => {
        const { call } = await agentInFreshTenant();
        await call('state.shared.set', { key: 'config.a', value: 'aa', expected_version: 0 });
        await call('state.shared.set', { key: 'config.b', value: 1, expected_version: 0 });
        await call('state.shared.set', { key: 'z', value: null, expected_version: 0 });
        const list = (await call('state.shared.list', { prefix: 'config.' })).body;
        expect(list).toMatchObject({ count: 2, total_size_bytes: 5 });
        expect(list.entries).toMatchObject([
          { key: 'config.a', version: 1, size_bytes: 4, owner_agent: 'agent-a' },
          { key: 'config.b', version: 1, size_bytes: 1, owner_agent: 'agent-a' },
        ]);
        expect((await call('state.shared.delete', { key: 'config.a' })).body).toEqual({ deleted: true });
        expectError(await call('state.shared.delete', { key: 'config.a' }), 404, 'KeyNotFound', [
          'list_keys',
        ]);
        expect((await call('state.shared.list', {})).body.entries.map((entry: any) => entry.key)).toEqual([
          'config.b',
          'z',
        ]);
        expect(
          (await call('state.shared.set', { key: 'config.a', value: 'again', expected_version: 0 })).body,
        ).toEqual({ version: 2 });
      });

      it('deletes over REST only at the version If-Match names, and whatever it is without one', async () => {
        const { call, token } = await agentInFreshTenant();
        await call('state.shared.set', { key: 'lock', value: 'a', expected_version: 0 });
        await call('state.shared.set', { key: 'lock', value: 'b', expected_version: 1 });
        const remove = (ifMatch?: string) =>
          w.api.request('DELETE', '/v1/shared/keys/lock', undefined, {
            token,
            ...(ifMatch === undefined ? {} : { headers: { 'if-match': ifMatch } }),
          });
        const stale = await remove('"1"');
        expectError(stale, 409, 'VersionConflict', ['retry']);
        expect(stale.body.error.details).toMatchObject({ expected_version: 1, current_version: 2 });
        expect((await call('state.shared.get', { key: 'lock' })).body).toMatchObject({
          value: 'b',
          version: 2,
        });
        expect((await remove('"2"')).body).toEqual({ deleted: true });
        await call('state.shared.set', { key: 'lock', value: 'c', expected_version: 0 });
        expect((await remove()).body).toEqual({ deleted: true });
        expect((await call('state.shared.get', { key: 'lock' })).body).toMatchObject({ found: false });
      });

      it('is QuotaExceeded past the tenant quota, writing nothing', async () => {
        const { call } = await agentInFreshTenant();
        await call('state.shared.set', { key: 'big', value: 'x'.repeat(1500), expected_version: 0 });
        expectError(
          await call('state.shared.set', { key: 'more', value: 'y'.repeat(600), expected_version: 0 }),
          507,
          'QuotaExceeded',
          ['delete_unused', 'request_increase'],
        );
        expect((await call('state.shared.get', { key: 'more' })).body.found).toBe(false);
      });

      it('watches within the current session: a subscription id, SessionNotFound without one', async () => {
        const { token, call } = await agentInFreshTenant();
        const watched = await call('state.shared.watch', { prefix: 'config.' });
        expect(watched.status, JSON.stringify(watched.body)).toBe(200);
        expect(typeof watched.body.subscription_id).toBe('string');
        expect((await call('state.shared.watch', {})).status).toBe(200);
        expectError(await w.api.call('state.shared.watch', {}, { token }), 404, 'SessionNotFound');
      });
    });
  });
}
