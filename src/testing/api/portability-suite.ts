import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumOf, withChecksum } from '../../portability/checksum.ts';
import type { ApiResponse } from './api-client.ts';
import { expectError } from './capability-suite.ts';
import type { TestWorker } from './test-worker.ts';

/** A document without what differs between two exports of the same state. */
function content(document: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(document).filter(([field]) => field !== 'exported_at' && field !== 'checksum'),
  );
}

function ok(res: ApiResponse, status = 200): any {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

/**
 * Session snapshots and subject export/import over HTTP (spec/002, spec/003): round
 * trips into a fresh store, moves between tenants, and bad input that writes nothing.
 * `start` is called twice: a source worker and a target worker on a store of its own.
 */
export function portabilitySuite(label: string, start: () => Promise<TestWorker>): void {
  describe(`portable state over HTTP (${label})`, () => {
    let source: TestWorker;
    let target: TestWorker;
    let tenants = 0;
    beforeAll(async () => {
      [source, target] = await Promise.all([start(), start()]);
    }, 180_000);
    afterAll(async () => {
      await Promise.all([source?.close(), target?.close()]);
    });

    const freshTenant = () => `p${++tenants}-${Date.now().toString(36)}`;
    const operator = (w: TestWorker, tenant: string) => w.token(tenant, 'ops', ['operator']);

    /** A session of `agent` with messages, events and a key-value; answers its id. */
    async function sessionWithHistory(w: TestWorker, token: string, agent: string): Promise<string> {
      const { session_id } = ok(await w.api.request('POST', '/v1/sessions', { agent }, { token }), 201);
      const path = `/v1/sessions/${session_id}`;
      ok(await w.api.request('POST', `${path}/messages`, { role: 'user', content: 'hello' }, { token }), 201);
      ok(
        await w.api.request(
          'POST',
          `${path}/messages`,
          { role: 'assistant', content: 'hi', metadata: { model: 'm1', about: session_id } },
          { token },
        ),
        201,
      );
      ok(
        await w.api.request('POST', `${path}/events`, { type: 'tool.called', data: { n: 1 } }, { token }),
        201,
      );
      ok(
        await w.api.call(
          'state.session.set',
          { key: 'scratch', value: [1, 2] },
          { token, session: session_id },
        ),
      );
      return session_id;
    }

    /** Persistent keys of `agent`: `plan` with three versions, `note` with one. */
    async function keysWithHistory(w: TestWorker, token: string, agent: string): Promise<void> {
      const put = (key: string, value: unknown) =>
        w.api.request('PUT', `/v1/agents/${agent}/state/${key}`, value, { token });
      for (const step of [1, 2, 3]) ok(await put('plan', { step }));
      ok(await put('note', 'remember'));
    }

    const exportSubject = async (w: TestWorker, token: string, subject: string) =>
      ok(await w.api.request('GET', `/admin/export/${subject}`, undefined, { token }));
    const history = async (w: TestWorker, token: string, agent: string, key: string) =>
      ok(await w.api.request('GET', `/v1/agents/${agent}/state/${key}/history`, undefined, { token }))
        .versions;

    it('a session snapshot restored into a fresh store exports the same document', async () => {
      const tenant = freshTenant();
      const sourceToken = await operator(source, tenant);
      const id = await sessionWithHistory(source, sourceToken, 'bot');
      const snapshot = ok(
        await source.api.request(
          'GET',
          `/v1/agents/bot/sessions/${id}/snapshot?tag=env=test&tag=reason=rt`,
          undefined,
          {
            token: sourceToken,
          },
        ),
      );
      expect(snapshot).toMatchObject({
        schema_version: 1,
        tenant_id: tenant,
        agent_id: 'bot',
        session_id: id,
        status: 'active',
        event_log_count: 1,
        tags: { env: 'test', reason: 'rt' },
      });
      expect(snapshot.messages.map((m: { content: string }) => m.content)).toEqual(['hello', 'hi']);
      expect(snapshot.checksum).toBe(checksumOf(snapshot));

      const targetToken = await operator(target, tenant);
      const dryRun = ok(
        await target.api.request('POST', '/v1/snapshots/restore?dry_run=true', snapshot, {
          token: targetToken,
        }),
      );
      expect(dryRun).toMatchObject({
        dry_run: true,
        messages: { added: 2, replaced: 0 },
        events: { added: 1 },
        status: { from: 'absent' },
      });
      expectError(
        await target.api.request('GET', `/v1/sessions/${id}`, undefined, { token: targetToken }),
        404,
        'SessionNotFound',
      );
      const report = ok(
        await target.api.request('POST', '/v1/snapshots/restore', snapshot, { token: targetToken }),
      );
      expect(report).toMatchObject({
        dry_run: false,
        session_id: id,
        messages_restored: 2,
        events_restored: 1,
      });

      const again = ok(
        await target.api.request(
          'GET',
          `/v1/agents/bot/sessions/${id}/snapshot?tag=env=test&tag=reason=rt`,
          undefined,
          {
            token: targetToken,
          },
        ),
      );
      expect(content(again)).toEqual(content(snapshot));
      // The restored session is live: it takes appends after its restored history.
      const appended = ok(
        await target.api.request(
          'POST',
          `/v1/sessions/${id}/messages`,
          { role: 'user', content: 'more' },
          {
            token: targetToken,
          },
        ),
        201,
      );
      expect(appended.seq).toBe(3);
    });

    it('restoring over a live session of that id replaces it and drops its key-values', async () => {
      const tenant = freshTenant();
      const token = await operator(source, tenant);
      const id = await sessionWithHistory(source, token, 'bot');
      const snapshot = ok(
        await source.api.request('GET', `/v1/agents/bot/sessions/${id}/snapshot`, undefined, { token }),
      );
      ok(
        await source.api.request(
          'POST',
          `/v1/sessions/${id}/messages`,
          { role: 'user', content: 'later' },
          { token },
        ),
        201,
      );
      const dryRun = ok(
        await source.api.request('POST', '/v1/snapshots/restore?dry_run=true', snapshot, { token }),
      );
      expect(dryRun).toMatchObject({
        messages: { added: 0, unchanged: 2, removed: 1 },
        status: { from: 'active' },
        session_keys_removed: 1,
      });
      ok(await source.api.request('POST', '/v1/snapshots/restore', snapshot, { token }));
      const messages = ok(
        await source.api.request('GET', `/v1/sessions/${id}/messages`, undefined, { token }),
      );
      expect(messages.messages.map((m: { content: string }) => m.content)).toEqual(['hello', 'hi']);
      const value = ok(
        await source.api.call('state.session.get', { key: 'scratch' }, { token, session: id }),
      );
      expect(value).toEqual({ value: null, found: false });
      // The message appended after the snapshot is gone for good: the next append is seq 3 with its own content.
      const next = ok(
        await source.api.request(
          'POST',
          `/v1/sessions/${id}/messages`,
          { role: 'user', content: 'new' },
          { token },
        ),
        201,
      );
      expect(next).toMatchObject({ seq: 3, content: 'new' });
    });

    it("exports the agent's latest live session when the session is `latest`", async () => {
      const tenant = freshTenant();
      const token = await operator(source, tenant);
      const latest = (agent: string) =>
        source.api.request('GET', `/v1/agents/${agent}/sessions/latest/snapshot`, undefined, { token });
      expectError(await latest('bot'), 404, 'SessionNotFound');
      const older = await sessionWithHistory(source, token, 'bot');
      const newer = await sessionWithHistory(source, token, 'bot');
      await sessionWithHistory(source, token, 'other-bot');
      expect(ok(await latest('bot')).session_id).toBe(newer);
      ok(await source.api.request('DELETE', `/v1/sessions/${newer}`, undefined, { token }));
      expect(ok(await latest('bot')).session_id).toBe(older);
      const agentToken = await source.token(tenant, 'intruder', ['agent']);
      expectError(
        await source.api.request('GET', '/v1/agents/bot/sessions/latest/snapshot', undefined, {
          token: agentToken,
        }),
        403,
        'Forbidden',
      );
    });

    it('a subject exported, imported into a fresh store and exported again gives the same document', async () => {
      const tenant = freshTenant();
      const sourceToken = await operator(source, tenant);
      await keysWithHistory(source, sourceToken, 'bot');
      const sessionIds = [
        await sessionWithHistory(source, sourceToken, 'bot'),
        await sessionWithHistory(source, sourceToken, 'bot'),
      ];
      const ended = await sessionWithHistory(source, sourceToken, 'bot');
      ok(await source.api.request('DELETE', `/v1/sessions/${ended}`, undefined, { token: sourceToken }));
      await sessionWithHistory(source, sourceToken, 'other-bot');
      const document = await exportSubject(source, sourceToken, 'bot');
      expect(document).toMatchObject({ format_version: 1, subject_id: 'bot', tenant_id: tenant });
      // The live sessions of the subject, newest first, with their logs (no key-values).
      expect(document.sessions.map((s: { session_id: string }) => s.session_id)).toEqual(
        [...sessionIds].reverse(),
      );
      expect(document.sessions[1]).toEqual({
        session_id: sessionIds[0],
        created_at: expect.any(String),
        messages: [
          expect.objectContaining({ seq: 1, content: 'hello' }),
          expect.objectContaining({ seq: 2, content: 'hi' }),
        ],
        events: [expect.objectContaining({ seq: 1, type: 'tool.called' })],
      });
      expect(document.persistent).toEqual([
        { key: 'note', versions: [expect.objectContaining({ version: 1, value: 'remember' })] },
        {
          key: 'plan',
          versions: [1, 2, 3].map((step) => expect.objectContaining({ version: step, value: { step } })),
        },
      ]);

      const targetToken = await operator(target, tenant);
      const report = ok(
        await target.api.request('POST', '/admin/import', { document }, { token: targetToken }),
      );
      expect(report).toMatchObject({
        keys_written: 2,
        keys_unchanged: 0,
        keys_renumbered: 0,
        versions_written: 4,
        sessions_written: 2,
      });
      expect(content(await exportSubject(target, targetToken, 'bot'))).toEqual(content(document));

      // The same document again changes nothing.
      const second = ok(
        await target.api.request('POST', '/admin/import', { document }, { token: targetToken }),
      );
      expect(second).toMatchObject({ keys_written: 0, keys_unchanged: 2, sessions_unchanged: 2 });
      expect(content(await exportSubject(target, targetToken, 'bot'))).toEqual(content(document));
    });

    it('moves a subject to another tenant and subject id, history and sessions included', async () => {
      const from = freshTenant();
      const to = freshTenant();
      const fromToken = await operator(source, from);
      await keysWithHistory(source, fromToken, 'bot');
      const id = await sessionWithHistory(source, fromToken, 'bot');
      const snapshot = ok(
        await source.api.request('GET', `/v1/agents/bot/sessions/${id}/snapshot`, undefined, {
          token: fromToken,
        }),
      );
      const document = await exportSubject(source, fromToken, 'bot');
      expect(document.sessions).toEqual([
        {
          session_id: id,
          created_at: snapshot.created_at,
          messages: snapshot.messages,
          events: snapshot.events,
        },
      ]);

      const toToken = await operator(target, to);
      const body = { document, target_tenant_id: to, target_subject_id: 'bot-2', preserve_ids: false };
      const report = ok(await target.api.request('POST', '/admin/import', body, { token: toToken }));
      expect(report).toMatchObject({
        tenant_id: to,
        subject_id: 'bot-2',
        keys_written: 2,
        sessions_written: 1,
      });
      const newId = report.session_ids[id];
      expect(newId).toMatch(/^[0-9a-f-]{36}$/);
      expect(newId).not.toBe(id);

      const versions = await history(target, toToken, 'bot-2', 'plan');
      expect(versions.map((v: { version: number; value: unknown }) => [v.version, v.value])).toEqual([
        [3, { step: 3 }],
        [2, { step: 2 }],
        [1, { step: 1 }],
      ]);
      const messages = ok(
        await target.api.request('GET', `/v1/sessions/${newId}/messages`, undefined, { token: toToken }),
      );
      expect(messages.messages).toHaveLength(2);
      // Every reference to the old session id now names the new one.
      expect(messages.messages[1].metadata).toEqual({ model: 'm1', about: newId });
      // Run again, the import picks the same new ids and changes nothing.
      const again = ok(await target.api.request('POST', '/admin/import', body, { token: toToken }));
      expect(again).toMatchObject({ keys_unchanged: 2, sessions_unchanged: 1, session_ids: { [id]: newId } });
    });

    it('never gives a key a version lower than one it had', async () => {
      const tenant = freshTenant();
      const token = await operator(source, tenant);
      await keysWithHistory(source, token, 'bot');
      const document = await exportSubject(source, token, 'bot');
      // Five versions, then deleted: the key's next version is 6 whatever is imported.
      const put = (value: unknown) =>
        source.api.request('PUT', '/v1/agents/bot-3/state/plan', value, { token });
      for (let step = 0; step < 5; step++) ok(await put({ other: step }));
      ok(await source.api.request('DELETE', '/v1/agents/bot-3/state/plan', undefined, { token }));
      const report = ok(
        await source.api.request(
          'POST',
          '/admin/import',
          { document, target_subject_id: 'bot-3' },
          { token },
        ),
      );
      expect(report).toMatchObject({ keys_written: 2, keys_renumbered: 1 });
      const versions = await history(source, token, 'bot-3', 'plan');
      expect(versions.map((v: { version: number; value: unknown }) => [v.version, v.value])).toEqual([
        [8, { step: 3 }],
        [7, { step: 2 }],
        [6, { step: 1 }],
      ]);
    });

    describe('bad input writes nothing', () => {
      let tenant: string;
      let token: string;
      let document: Record<string, any>;
      beforeAll(async () => {
        tenant = freshTenant();
        token = await operator(source, tenant);
        await keysWithHistory(source, token, 'bot');
        document = await exportSubject(source, token, 'bot');
      });

      /** Posts `body` raw to /admin/import targeting `empty`, expects `code`, and that `empty` stayed empty. */
      async function refused(rawBody: string, status: number, code: string) {
        const res = await source.api.request('POST', '/admin/import', undefined, { token, rawBody });
        expectError(res, status, code);
        const after = await exportSubject(source, token, 'empty');
        expect(after.persistent).toEqual([]);
        return res;
      }
      const request = (doc: unknown) => JSON.stringify({ document: doc, target_subject_id: 'empty' });

      it('a truncated document or invalid JSON is InvalidInput', async () => {
        const text = request(document);
        await refused(text.slice(0, text.length - 20), 400, 'InvalidInput');
        await refused('{"document": {', 400, 'InvalidInput');
      });

      it('one changed value anywhere is ChecksumMismatch', async () => {
        const changed = structuredClone(document);
        changed.persistent[1].versions[0].value.step = 9;
        await refused(request(changed), 422, 'ChecksumMismatch');
        const renamed = { ...document, subject_id: 'bou' };
        await refused(request(renamed), 422, 'ChecksumMismatch');
      });

      it('a newer or unknown format_version is IncompatibleVersion', async () => {
        for (const version of [2, '1', 0]) {
          await refused(
            request(withChecksum({ ...document, format_version: version })),
            422,
            'IncompatibleVersion',
          );
        }
      });

      it('an unknown top-level field is InvalidInput even with a matching checksum', async () => {
        await refused(request(withChecksum({ ...document, extra: true })), 400, 'InvalidInput');
      });

      it('preserve_ids conflicts are IdConflict listing every one, and nothing is written', async () => {
        const other = await source.token(tenant, 'ops', ['operator']);
        const put = (agent: string, key: string, value: unknown) =>
          source.api.request('PUT', `/v1/agents/${agent}/state/${key}`, value, { token: other });
        ok(await put('busy', 'plan', 'mine'));
        ok(await put('busy', 'note', 'mine too'));
        const res = await source.api.request(
          'POST',
          '/admin/import',
          { document, target_subject_id: 'busy' },
          { token },
        );
        expectError(res, 409, 'IdConflict');
        expect(res.body.error.details.conflicts).toEqual(['persistent key "note"', 'persistent key "plan"']);
        expect(
          (await history(source, token, 'busy', 'plan')).map((v: { value: unknown }) => v.value),
        ).toEqual(['mine']);
      });

      it('an agent token on the admin API is Forbidden', async () => {
        const agentToken = await source.token(tenant, 'bot', ['agent']);
        expectError(
          await source.api.request('GET', '/admin/export/bot', undefined, { token: agentToken }),
          403,
          'Forbidden',
        );
        const res = await source.api.request('POST', '/admin/import', undefined, {
          token: agentToken,
          rawBody: request(document),
        });
        expectError(res, 403, 'Forbidden');
        expect((await exportSubject(source, token, 'empty')).persistent).toEqual([]);
        // An operator of another tenant may not import into this one either.
        const stranger = await source.token(freshTenant(), 'ops', ['operator']);
        expectError(
          await source.api.request(
            'POST',
            '/admin/import',
            { document, target_tenant_id: tenant },
            { token: stranger },
          ),
          403,
          'Forbidden',
        );
      });

      it('a session snapshot with one byte changed, or for a tenant the caller cannot write, restores nothing', async () => {
        const id = await sessionWithHistory(source, token, 'bot');
        const snapshot = ok(
          await source.api.request('GET', `/v1/agents/bot/sessions/${id}/snapshot`, undefined, { token }),
        );
        ok(await source.api.request('DELETE', `/v1/sessions/${id}`, undefined, { token }));
        const text = JSON.stringify(snapshot).replace('"hello"', '"hellp"');
        expectError(
          await source.api.request('POST', '/v1/snapshots/restore', undefined, { token, rawBody: text }),
          422,
          'ChecksumMismatch',
        );
        const stranger = await source.token(freshTenant(), 'ops', ['operator']);
        expectError(
          await source.api.request('POST', '/v1/snapshots/restore', snapshot, { token: stranger }),
          403,
          'Forbidden',
        );
        expectError(
          await source.api.request('GET', `/v1/sessions/${id}`, undefined, { token }),
          404,
          'SessionNotFound',
        );
      });
    });
  });
}
