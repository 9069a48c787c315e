import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliShell, type CliShell } from '../../src/testing/api/cli-runner.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

// `agentstate threads list|show|delete` as a script would run them: --json and exit codes.

let w: TestWorker;
let shell: CliShell;
let tokens: Record<'agent' | 'other' | 'operator', string>;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
  shell = await createCliShell({ AGENTSTATE_URL: w.worker.url });
  tokens = {
    agent: await w.token('t1', 'bot'),
    other: await w.token('t1', 'other-bot'),
    operator: await w.token('t1', 'ops', ['operator']),
  };
}, 60_000);
afterAll(async () => {
  await shell?.close();
  await w?.close();
});

const as = (who: keyof typeof tokens, line: string) =>
  shell.run(`agentstate ${line}`, { AGENTSTATE_TOKEN: tokens[who] });

async function put(thread: string, id: string, parent?: string): Promise<void> {
  const response = await fetch(`${w.worker.url}/v1/threads/${thread}/checkpoints`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${tokens.agent}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      checkpoint: { id, channel_versions: { a: 1 } },
      metadata: { step: Number(id.slice(1)) },
      new_channel_values: [
        { channel: 'a', version: 1, value: { type: 'json', encoding: 'utf8', data: '1' } },
      ],
      ...(parent === undefined ? {} : { parent_checkpoint_id: parent }),
    }),
  });
  expect(response.status).toBe(200);
}

describe('agentstate threads', { timeout: 180_000 }, () => {
  it("lists, shows and deletes an agent's threads", async () => {
    await put('thread-1', 'c1');
    await put('thread-1', 'c2', 'c1');
    await put('thread-2', 'c1');

    const listed = await as('agent', 'threads list bot --json');
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).threads.map((t: { thread_id: string }) => t.thread_id)).toEqual([
      'thread-2',
      'thread-1',
    ]);
    const table = await as('operator', 'threads list bot');
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toContain('thread-1');

    const shown = await as('agent', 'threads show bot thread-1 --json');
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(
      JSON.parse(shown.stdout).checkpoints.map(
        (c: { config: { checkpoint_id: string } }) => c.config.checkpoint_id,
      ),
    ).toEqual(['c2', 'c1']);

    const deleted = await as('agent', 'threads delete bot thread-1 --json');
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({ deleted: true });
    expect((await as('agent', 'threads show bot thread-1')).exitCode).toBe(4);
    expect((await as('agent', 'threads delete bot thread-1')).exitCode).toBe(4);
  });

  it('answers 3 for another agent, and 2 for a bad limit', async () => {
    const denied = await as('other', 'threads list bot');
    expect(denied.exitCode).toBe(3);
    expect((await as('agent', 'threads list bot --limit 0')).exitCode).toBe(2);
  });
});
