import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentPersistentState } from '../../src/capabilities/call-scope.ts';
import { defineCapability } from '../../src/capabilities/capability.ts';
import { capabilities } from '../../src/capabilities/registry.ts';
import { createServiceClient } from '../../src/cli/service-client.ts';
import { AppError } from '../../src/core/errors.ts';
import { createCliShell, type CliShell } from '../../src/testing/api/cli-runner.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

// The operator's and supervisor's commands as a Job would run them: approvals, audit,
// system snapshots and briefings, each with --json and its exit code.

// An Approval Required capability of this test alone, which writes one persistent key.
const mark = defineCapability({
  name: 'test.mark',
  permission: 'approval_required',
  description: 'Writes the key `marked` of the calling agent (test only).',
  input: z.strictObject({}),
  output: z.object({ version: z.int() }),
  run: async (services, context) => {
    const { version } = await agentPersistentState(services, context, 'write').set('marked', true);
    return { version };
  },
});

let w: TestWorker;
let shell: CliShell;
let tokens: Record<'agent' | 'supervisor' | 'operator', string>;
beforeAll(async () => {
  w = await startEmbeddedTestWorker({}, { capabilities: [...capabilities, mark] });
  shell = await createCliShell({ AGENTSTATE_URL: w.worker.url });
  tokens = {
    agent: await w.token('t1', 'agent-1'),
    supervisor: await w.token('t1', 'boss', ['supervisor']),
    operator: await w.token('t1', 'ops', ['operator']),
  };
}, 60_000);
afterAll(async () => {
  await shell?.close();
  await w?.close();
});

const as = (who: keyof typeof tokens, line: string) =>
  shell.run(`agentstate ${line}`, { AGENTSTATE_TOKEN: tokens[who] });

async function requestMark(): Promise<string> {
  const answer = await w.api.call('test.mark', {}, { token: tokens.agent });
  expect(answer.status).toBe(202);
  return answer.body.approval_id as string;
}

describe('agentstate approvals', { timeout: 180_000 }, () => {
  it('lists pending requests, refuses the agent, approves once as the supervisor, denies', async () => {
    const id = await requestMark();
    const listed = await as('supervisor', 'approvals list --status pending --json');
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).approvals.map((a: { approval_id: string }) => a.approval_id)).toContain(
      id,
    );

    const byAgent = await as('agent', `approvals approve ${id}`);
    expect(byAgent.exitCode).toBe(3);
    expect(byAgent.stderr).toContain('Forbidden');

    const approved = await as('supervisor', `approvals approve ${id} --json`);
    expect(approved.exitCode, approved.stderr).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ status: 'completed', output: { version: 1 } });
    const again = await as('supervisor', `approvals approve ${id} --json`);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'completed', output: { version: 1 } });

    const other = await requestMark();
    const denied = await as('supervisor', `approvals deny ${other} --reason "not today"`);
    expect(denied.exitCode, denied.stderr).toBe(0);
    expect(denied.stdout).toContain('not today');
    const late = await as('operator', `approvals approve ${other}`);
    expect(late.exitCode).toBe(5);
    const unknown = await as('supervisor', 'approvals show apr-20000101T000000-00000000');
    expect(unknown.exitCode).toBe(4);
    expect(unknown.stderr).toContain('ApprovalNotFound');
  });
});

describe('the CLI service client', () => {
  it('takes a 202 for ApprovalRequired (exit 8) with the approval id, not for an answer', async () => {
    const service = createServiceClient({
      baseUrl: w.worker.url,
      headers: { authorization: `Bearer ${tokens.agent}` },
      describe: 'the test worker',
    });
    const error = await service.json(z.unknown(), 'POST', '/v1/capabilities/test.mark', { json: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('ApprovalRequired');
    expect((error as AppError).details?.['approval_id']).toMatch(/^apr-/);
  });
});

describe('agentstate snapshot, audit and briefing', { timeout: 180_000 }, () => {
  it('takes, lists and loads system snapshots; an unknown id exits 4', async () => {
    const created = await as('agent', 'snapshot create --json');
    expect(created.exitCode, created.stderr).toBe(0);
    const { snapshot_id } = JSON.parse(created.stdout) as { snapshot_id: string };
    const listed = await as('agent', 'snapshot list --json');
    expect(JSON.parse(listed.stdout).snapshots[0].snapshot_id).toBe(snapshot_id);
    const loaded = await as('agent', `snapshot load ${snapshot_id} --json`);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    expect(JSON.parse(loaded.stdout).snapshot.snapshot_id).toBe(snapshot_id);
    const missing = await as('agent', 'snapshot load snap-20000101T000000');
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toContain('SnapshotNotFound');
  });

  it('reads the audit trail as an operator, and refuses a bad timestamp with exit 2', async () => {
    await w.api.call('state.snapshot.create', {}, { token: tokens.agent });
    const trail = await as('operator', 'audit --action state.snapshot.create --json');
    expect(trail.exitCode, trail.stderr).toBe(0);
    expect(JSON.parse(trail.stdout).records.length).toBeGreaterThan(0);
    const table = await as('operator', 'audit');
    expect(table.stdout).toContain('state.snapshot.create');
    const bad = await as('operator', 'audit --from yesterday');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('InvalidTimestamp');
    expect((await as('agent', 'audit')).exitCode).toBe(3);
  });

  it("prints an agent's briefing, and refuses a bad --since with exit 2", async () => {
    const briefing = await as('agent', 'briefing --since 2000-01-01T00:00:00Z --detailed --json');
    expect(briefing.exitCode, briefing.stderr).toBe(0);
    expect(JSON.parse(briefing.stdout).briefing).toMatchObject({
      agent: 'agent-1',
      since: '2000-01-01T00:00:00.000Z',
      detail_level: 'detailed',
      pending_approvals: { items: expect.any(Array) },
      health: { ok: true },
    });
    const text = await as('supervisor', 'briefing --agent agent-1');
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Since .*; all components healthy\.\n/);
    const bad = await as('agent', 'briefing --since tomorrow');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('InvalidTimestamp');
  });
});
