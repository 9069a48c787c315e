import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorker } from './test-worker.ts';

// Two agents of tenant t1 and an operator: agent-b and the operator change things while
// agent-a is away; agent-a's briefing tells it what changed.

/**
 * Briefings, the journal and system snapshots over HTTP, on a worker that `start`
 * opens with the given environment.
 */
export function systemApiSuite(
  name: string,
  start: (env: Record<string, string>) => Promise<TestWorker>,
): void {
  let w: TestWorker;
  let a: string;
  let b: string;
  let operator: string;
  beforeAll(async () => {
    w = await start({ AGENTSTATE_SNAPSHOT_RETENTION: '2' });
    a = await w.token('t1', 'agent-a');
    b = await w.token('t1', 'agent-b');
    operator = await w.token('t1', 'ops', ['operator']);
  }, 120_000);
  afterAll(async () => w?.close());

  describe(`state.briefing.generate (${name})`, () => {
    it("reports another agent's shared writes and an operator's change of its persistent keys, in both detail levels", async () => {
      // agent-a's own writes: not news to it.
      expect((await w.api.call('state.persistent.set', { key: 'mine', value: 1 }, { token: a })).status).toBe(
        200,
      );
      expect(
        (await w.api.call('state.shared.set', { key: 'own', value: 1, expected_version: 0 }, { token: a }))
          .status,
      ).toBe(200);
      const session = (await w.api.request('POST', '/v1/sessions', {}, { token: a })).body
        .session_id as string;
      expect(
        (await w.api.call('state.shared.watch', { prefix: 'config.' }, { token: a, session })).status,
      ).toBe(200);
      // While agent-a is away:
      await w.api.call(
        'state.shared.set',
        { key: 'config.mode', value: 'x', expected_version: 0 },
        { token: b },
      );
      await w.api.call(
        'state.shared.set',
        { key: 'config.level', value: 2, expected_version: 0 },
        { token: b },
      );
      await w.api.call(
        'state.persistent.set',
        { key: 'restored', value: 9 },
        { token: operator, agent: 'agent-a' },
      );
      const posted = await w.api.request(
        'POST',
        '/v1/journal',
        { kind: 'alert', severity: 'critical', title: 'disk almost full' },
        { token: operator },
      );
      expect(posted.status).toBe(201);
      await w.api.request(
        'POST',
        '/v1/journal',
        { kind: 'filesystem_change', path: '/work/a.txt', change: 'modified', agent: 'agent-a' },
        { token: operator },
      );
      await w.api.request(
        'POST',
        '/v1/journal',
        { kind: 'process_event', process: 'builder', event: 'crashed', exit_code: 137, agent: 'agent-b' },
        { token: operator },
      );

      // The audit of shared writes and inbox delivery follow the answer: wait for both,
      // asking as the operator, whose reading is no activity of agent-a's.
      const asOperator = { token: operator, agent: 'agent-a' };
      await expect
        .poll(async () => {
          const { briefing } = (await w.api.request('GET', '/v1/briefing', undefined, asOperator)).body;
          return [briefing?.shared_changes.count, briefing?.unread_messages.count];
        })
        .toEqual([2, 2]);
      const summary = (await w.api.request('GET', '/v1/briefing', undefined, asOperator)).body.briefing;
      expect(summary).toMatchObject({
        agent: 'agent-a',
        detail_level: 'summary',
        shared_changes: { count: 2 },
        persistent_changes: { count: 1 },
        pending_approvals: { count: 0 },
        unread_messages: { count: 2 },
        filesystem_changes: { count: 1 },
        process_events: { count: 0 },
        alerts: { count: 1 },
        health: { ok: true },
      });
      expect(summary.shared_changes.items).toBeUndefined();
      expect(summary.summary).toBe(
        `Since ${summary.since}: 2 shared keys changed by others, 1 of your persistent keys changed by someone else, 2 unread messages, 1 filesystem change, 1 alert (1 critical); all components healthy.`,
      );

      const detailed = await w.api.call('state.briefing.generate', { detail_level: 'detailed' }, asOperator);
      expect(detailed.status).toBe(200);
      const briefing = detailed.body.briefing;
      expect(
        briefing.shared_changes.items.map((c: { key: string; agent: string }) => [c.key, c.agent]).sort(),
      ).toEqual([
        ['config.level', 'agent-b'],
        ['config.mode', 'agent-b'],
      ]);
      expect(briefing.persistent_changes.items.map((c: { key: string }) => c.key)).toEqual(['restored']);
      expect(briefing.alerts.items[0]).toMatchObject({
        kind: 'alert',
        severity: 'critical',
        posted_by: 'ops',
      });
      expect(briefing.filesystem_changes.items[0]).toMatchObject({ path: '/work/a.txt', change: 'modified' });
      expect(briefing.unread_messages.items).toHaveLength(2);
      expect(briefing.health.components.map((c: { component: string }) => c.component)).toEqual([
        'kv',
        'blobs',
        'secrets',
      ]);

      // agent-a asking itself sees the same since its last activity; asking is activity,
      // so the next briefing starts from there.
      const own = (await w.api.request('GET', '/v1/briefing', undefined, { token: a })).body.briefing;
      expect(own.since).toBe(summary.since);
      expect(own.summary).toBe(summary.summary);
      const again = (await w.api.request('GET', '/v1/briefing', undefined, { token: a })).body.briefing;
      expect(again.since > own.since).toBe(true);
      expect([again.shared_changes.count, again.persistent_changes.count]).toEqual([0, 0]);
    });

    it('looks back to an explicit since, and refuses one that is not ISO 8601 with InvalidTimestamp', async () => {
      const since = await w.api.call(
        'state.briefing.generate',
        { since: '2000-01-01T00:00:00Z' },
        { token: b },
      );
      expect(since.status).toBe(200);
      expect(since.body.briefing.since).toBe('2000-01-01T00:00:00.000Z');
      for (const bad of ['yesterday', '2026-13-01T00:00:00Z', '2026-03-25 14:00:00', '1711375200']) {
        const answer = await w.api.request(
          'GET',
          `/v1/briefing?since=${encodeURIComponent(bad)}`,
          undefined,
          {
            token: b,
          },
        );
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe('InvalidTimestamp');
        expect(answer.body.error.recovery).toEqual([
          { action: 'fix_format', description: 'Use ISO 8601 format: YYYY-MM-DDTHH:MM:SSZ' },
        ]);
      }
      const level = await w.api.call('state.briefing.generate', { detail_level: 'everything' }, { token: b });
      expect(level.body.error.code).toBe('InvalidInput');
    });
  });

  describe(`POST /v1/journal (${name})`, () => {
    it('refuses entries that are not one of its types, writing nothing', async () => {
      const window = '/v1/briefing?since=2000-01-01T00:00:00Z&detail_level=detailed';
      const before = (await w.api.request('GET', window, undefined, { token: b })).body.briefing;
      for (const bad of [
        { kind: 'gossip', text: 'hi' },
        { kind: 'alert', severity: 'apocalyptic', title: 'x' },
        { kind: 'alert', severity: 'info' },
        { kind: 'filesystem_change', path: '/x', change: 'modified', extra: true },
        { kind: 'process_event', process: 'p', event: 'started', at: 'noon' },
      ]) {
        const answer = await w.api.request('POST', '/v1/journal', bad, { token: operator });
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe('InvalidInput');
      }
      const after = (await w.api.request('GET', window, undefined, { token: b })).body.briefing;
      expect(after.alerts.count).toBe(before.alerts.count);
      expect(after.process_events.count).toBe(before.process_events.count);
    });
  });

  describe(`system snapshots (${name})`, () => {
    it('captures agents, usage, approvals, alerts, health and state statistics; lists newest first; keeps the retention', async () => {
      const first = await w.api.request('POST', '/v1/snapshots/system', undefined, { token: a });
      expect(first.status).toBe(201);
      expect(first.body.snapshot_id).toMatch(/^snap-\d{8}T\d{6}(-\d{3})?$/);
      expect(first.body.size_bytes).toBeGreaterThan(0);
      const loaded = await w.api.call(
        'state.snapshot.load',
        { snapshot_id: first.body.snapshot_id },
        { token: b },
      );
      expect(loaded.status).toBe(200);
      const snapshot = loaded.body.snapshot;
      expect(snapshot.agents.map((agent: { agent: string }) => agent.agent)).toEqual(
        expect.arrayContaining(['agent-a', 'agent-b']),
      );
      const agentA = snapshot.agents.find((agent: { agent: string }) => agent.agent === 'agent-a');
      expect(agentA.open_sessions).toHaveLength(1);
      expect(snapshot.alerts.map((alert: { title: string }) => alert.title)).toContain('disk almost full');
      expect(snapshot.health.every((component: { ok: boolean }) => component.ok)).toBe(true);
      const scopes = Object.fromEntries(
        snapshot.state.scopes.map((scope: { scope: string; keys: number }) => [scope.scope, scope.keys]),
      );
      expect(scopes).toMatchObject({ shared: 3, 'persistent:agent-a': 2 });
      expect(snapshot.resources.tenant.shared.quota_bytes).toBe(500 * 1024 * 1024);

      const second = await w.api.call('state.snapshot.create', {}, { token: a });
      const third = await w.api.call('state.snapshot.create', {}, { token: a });
      const ids = [first, second, third].map((answer) => answer.body.snapshot_id as string);
      expect(new Set(ids).size).toBe(3);
      const listed = await w.api.request('GET', '/v1/snapshots/system', undefined, { token: b });
      expect(listed.body.count).toBe(2);
      expect(listed.body.snapshots.map((s: { snapshot_id: string }) => s.snapshot_id)).toEqual([
        ids[2],
        ids[1],
      ]);
      const gone = await w.api.request('GET', `/v1/snapshots/system/${ids[0]}`, undefined, { token: b });
      expect(gone.status).toBe(404);
      expect(gone.body.error.code).toBe('SnapshotNotFound');
      expect(gone.body.error.recovery).toEqual([
        { action: 'list_snapshots', description: 'Use state.snapshot.list to see available snapshots.' },
      ]);
      // Notify: each snapshot is in the audit trail.
      const trail = await w.api.request('GET', '/v1/audit?action=state.snapshot.create', undefined, {
        token: operator,
      });
      expect(trail.body.count).toBe(3);
    });

    it('answers SnapshotNotFound for an unknown id and refuses another tenant', async () => {
      const unknown = await w.api.call('state.snapshot.load', { snapshot_id: 'snap-before' }, { token: a });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('SnapshotNotFound');
      const stranger = await w.token('t2', 'agent-a');
      const theirs = await w.api.request('GET', '/v1/snapshots/system', undefined, { token: stranger });
      expect(theirs.body).toEqual({ snapshots: [], count: 0 });
    });
  });
}
