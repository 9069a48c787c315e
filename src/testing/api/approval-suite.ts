import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentPersistentState } from '../../capabilities/call-scope.ts';
import { defineCapability, type Capability } from '../../capabilities/capability.ts';
import { capabilities } from '../../capabilities/registry.ts';
import { isAppError } from '../../core/errors.ts';
import type { TestWorker } from './test-worker.ts';

// An Approval Required capability of this test alone: it counts its runs in the
// requesting agent's persistent state, so "ran once" and "ran not at all" are readable.
const bump = defineCapability({
  name: 'test.counter.bump',
  permission: 'approval_required',
  description: 'Adds one to the counter `key` of the calling agent (test only).',
  input: z.strictObject({ key: z.string().min(1) }),
  output: z.object({ count: z.int(), approval: z.unknown() }),
  run: async (services, context, { key }) => {
    const state = agentPersistentState(services, context, 'write');
    const current = await state.get(key).catch((error: unknown) => {
      if (isAppError(error, 'KeyNotFound')) return undefined;
      throw error;
    });
    const count = ((current?.value as number | undefined) ?? 0) + 1;
    await state.set(key, count);
    return { count, approval: context.approval ?? null };
  },
});

/**
 * The approval flow end to end over HTTP with two identities and more, on a worker that
 * `start` opens with the given capabilities (this suite adds an Approval Required one).
 */
export function approvalApiSuite(
  name: string,
  start: (list: readonly Capability[]) => Promise<TestWorker>,
): void {
  let w: TestWorker;
  let agent: string;
  let supervisor: string;
  let operator: string;
  let otherSupervisor: string;
  let agentSupervisor: string;

  beforeAll(async () => {
    w = await start([...capabilities, bump]);
    agent = await w.token('t1', 'agent-1');
    supervisor = await w.token('t1', 'boss', ['supervisor']);
    operator = await w.token('t1', 'ops', ['operator']);
    otherSupervisor = await w.token('t2', 'boss', ['supervisor']);
    agentSupervisor = await w.token('t1', 'lead', ['agent', 'supervisor']);
  }, 120_000);
  afterAll(async () => w?.close());

  async function counter(key: string): Promise<number | undefined> {
    const read = await w.api.call('state.persistent.get', { key }, { token: operator, agent: 'agent-1' });
    if (read.status === 404) return undefined;
    expect(read.status).toBe(200);
    return read.body.value as number;
  }

  async function request(key: string, token = agent) {
    const answer = await w.api.call('test.counter.bump', { key }, { token });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'pending', capability: 'test.counter.bump' });
    expect(answer.body.error.code).toBe('ApprovalRequired');
    return answer.body.approval_id as string;
  }

  describe(`an Approval Required capability (${name})`, () => {
    it('answers an agent 202 with an approval id and runs nothing until a supervisor approves', async () => {
      const id = await request('c1');
      expect(await counter('c1')).toBeUndefined();
      const pending = await w.api.request('GET', `/v1/approvals/${id}`, undefined, { token: agent });
      expect(pending.body).toMatchObject({ approval_id: id, status: 'pending', input: { key: 'c1' } });

      const approved = await w.api.request('POST', `/v1/approvals/${id}/approve`, undefined, {
        token: supervisor,
      });
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({
        status: 'completed',
        decided_by: 'boss',
        output: { count: 1, approval: { id, approvedBy: 'boss' } },
      });
      expect(await counter('c1')).toBe(1);
      // The requester reads the outcome.
      const seen = await w.api.request('GET', `/v1/approvals/${id}`, undefined, { token: agent });
      expect(seen.body).toMatchObject({ status: 'completed', output: { count: 1 } });
    });

    it('runs once when the approval is replayed or two approvers approve at once', async () => {
      const id = await request('c2');
      const approve = (token: string) =>
        w.api.request('POST', `/v1/approvals/${id}/approve`, undefined, { token });
      const answers = await Promise.all([approve(supervisor), approve(operator), approve(supervisor)]);
      for (const answer of answers) expect(answer.status).toBe(200);
      const replayed = await approve(supervisor);
      expect(replayed.status).toBe(200);
      expect(await counter('c2')).toBe(1);
      expect(replayed.body).toMatchObject({ status: 'completed', output: { count: 1 } });
    });

    it('runs nothing once denied, and a denied request cannot be approved', async () => {
      const id = await request('c3');
      const denied = await w.api.request(
        'POST',
        `/v1/approvals/${id}/deny`,
        { reason: 'not now' },
        { token: supervisor },
      );
      expect(denied.body).toMatchObject({ status: 'denied', reason: 'not now', decided_by: 'boss' });
      const late = await w.api.request('POST', `/v1/approvals/${id}/approve`, undefined, { token: operator });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('VersionConflict');
      expect(await counter('c3')).toBeUndefined();
    });

    it('refuses the requester approving its own request, and plain agents approving', async () => {
      const own = await request('c4', agentSupervisor);
      const self = await w.api.request('POST', `/v1/approvals/${own}/approve`, undefined, {
        token: agentSupervisor,
      });
      expect(self.status).toBe(403);
      expect(self.body.error.code).toBe('Forbidden');
      const id = await request('c4');
      const byAgent = await w.api.request('POST', `/v1/approvals/${id}/approve`, undefined, { token: agent });
      expect(byAgent.body.error.code).toBe('Forbidden');
      expect(
        (await w.api.request('GET', `/v1/approvals/${id}`, undefined, { token: agent })).body.status,
      ).toBe('pending');
      expect(await counter('c4')).toBeUndefined();
    });

    it('refuses a supervisor of another tenant: the approval is not found there, and nothing runs', async () => {
      const id = await request('c5');
      for (const path of [`/v1/approvals/${id}/approve`, `/v1/approvals/${id}/deny`]) {
        const answer = await w.api.request('POST', path, undefined, { token: otherSupervisor });
        expect(answer.status).toBe(404);
        expect(answer.body.error.code).toBe('ApprovalNotFound');
        expect(answer.body.error.recovery[0].action).toBe('list_approvals');
      }
      const listed = await w.api.request('GET', '/v1/approvals', undefined, { token: otherSupervisor });
      expect(listed.body.approvals).toEqual([]);
      expect(
        (await w.api.request('GET', `/v1/approvals/${id}`, undefined, { token: agent })).body.status,
      ).toBe('pending');
      expect(await counter('c5')).toBeUndefined();
    });

    it('runs an operator call directly: an operator is its own approval', async () => {
      const answer = await w.api.call(
        'test.counter.bump',
        { key: 'c6' },
        { token: operator, agent: 'agent-1' },
      );
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ count: 1, approval: null });
      const trail = await w.api.request('GET', '/v1/audit?action=test.counter.bump', undefined, {
        token: operator,
      });
      expect(trail.body.records.filter((record: { agent: string }) => record.agent === 'ops')).toMatchObject([
        { permission: 'approval_required', outcome: 'ok' },
      ]);
    });

    it('lists pending approvals for supervisors, and only its own requests for an agent', async () => {
      const mine = await request('c7');
      const theirs = await request('c7', agentSupervisor);
      const all = await w.api.request('GET', '/v1/approvals?status=pending', undefined, {
        token: supervisor,
      });
      const ids = all.body.approvals.map((approval: { approval_id: string }) => approval.approval_id);
      expect(ids).toEqual(expect.arrayContaining([mine, theirs]));
      expect(all.body.approvals.every((approval: { status: string }) => approval.status === 'pending')).toBe(
        true,
      );
      const own = await w.api.request('GET', '/v1/approvals?status=pending', undefined, { token: agent });
      const ownIds = own.body.approvals.map((approval: { approval_id: string }) => approval.approval_id);
      expect(ownIds).toContain(mine);
      expect(ownIds).not.toContain(theirs);
    });

    it('refuses bad input before filing anything', async () => {
      const before = await w.api.request('GET', '/v1/approvals', undefined, { token: supervisor });
      const bad = await w.api.call('test.counter.bump', { key: '' }, { token: agent });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('InvalidInput');
      const unknown = await w.api.request('GET', '/v1/approvals/apr-nope', undefined, { token: supervisor });
      expect(unknown.body.error.code).toBe('ApprovalNotFound');
      const badStatus = await w.api.request('GET', '/v1/approvals?status=maybe', undefined, {
        token: supervisor,
      });
      expect(badStatus.body.error.code).toBe('InvalidInput');
      const after = await w.api.request('GET', '/v1/approvals', undefined, { token: supervisor });
      expect(after.body.count).toBe(before.body.count);
    });

    it('audits every step, readable by operators by time range', async () => {
      const from = new Date().toISOString();
      const id = await request('c8');
      await w.api.request('POST', `/v1/approvals/${id}/approve`, undefined, { token: supervisor });
      const trail = await w.api.request('GET', `/v1/audit?from=${from}`, undefined, { token: operator });
      expect(trail.status).toBe(200);
      const steps = trail.body.records.filter(
        (record: { approval_id?: string }) => record.approval_id === id,
      );
      expect(
        steps.map((record: { action: string; outcome: string; agent: string }) => [
          record.action,
          record.outcome,
          record.agent,
        ]),
      ).toEqual([
        ['approval.requested', 'pending', 'agent-1'],
        ['approval.approved', 'approved', 'boss'],
        ['test.counter.bump', 'ok', 'agent-1'],
      ]);
      const refused = await w.api.request('GET', '/v1/audit', undefined, { token: supervisor });
      expect(refused.body.error.code).toBe('Forbidden');
    });
  });
}
