import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

let auto: TestWorker;
let plain: TestWorker;
beforeAll(async () => {
  [auto, plain] = await Promise.all([
    startEmbeddedTestWorker({
      AGENTSTATE_CHECKPOINT_EVERY_MESSAGES: '2',
      AGENTSTATE_CHECKPOINT_ON_END: 'true',
    }),
    startEmbeddedTestWorker(),
  ]);
}, 60_000);
afterAll(async () => Promise.all([auto?.close(), plain?.close()]));

async function openSession(w: TestWorker, token: string): Promise<string> {
  const opened = await w.api.request('POST', '/v1/sessions', { agent: 'bot' }, { token });
  expect(opened.status).toBe(201);
  return opened.body.session_id;
}

async function append(w: TestWorker, token: string, id: string, contents: string[]): Promise<void> {
  for (const content of contents) {
    const res = await w.api.request(
      'POST',
      `/v1/sessions/${id}/messages`,
      { role: 'user', content },
      { token },
    );
    expect(res.status).toBe(201);
  }
}

const snapshots = (w: TestWorker, token: string, id: string) =>
  w.api.request('GET', `/v1/agents/bot/sessions/${id}/snapshots`, undefined, { token });

describe('automatic session checkpoints', () => {
  it('checkpoint every N messages (after answering) and before the session ends', async () => {
    const token = await auto.token('acme', 'bot');
    const id = await openSession(auto, token);
    // Messages 2 and 4 each start a checkpoint in the background; each is awaited
    // before the next append, so that it holds exactly the messages up to its own.
    const checkpoints = (count: number) =>
      vi.waitFor(async () => expect((await snapshots(auto, token, id)).body.count).toBe(count), {
        timeout: 15_000,
      });
    await append(auto, token, id, ['m1', 'm2']);
    await checkpoints(1);
    await append(auto, token, id, ['m3', 'm4']);
    await checkpoints(2);
    await append(auto, token, id, ['m5']);
    const ended = await auto.api.request('DELETE', `/v1/sessions/${id}`, undefined, { token });
    expect(ended.status).toBe(200);
    const listed = (await snapshots(auto, token, id)).body;
    expect(listed.count).toBe(3);
    const loaded = async (snapshotId: string) =>
      (
        await auto.api.request('GET', `/v1/agents/bot/sessions/${id}/snapshots/${snapshotId}`, undefined, {
          token,
        })
      ).body;
    const contents = await Promise.all(listed.snapshot_ids.map(loaded));
    expect(contents.map((s) => [s.messages.length, s.tags.checkpoint])).toEqual([
      [2, 'messages'],
      [4, 'messages'],
      [5, 'end'],
    ]);
    // The ended session's messages are gone from the store, but not from its last checkpoint.
    expect((await auto.api.request('GET', `/v1/sessions/${id}`, undefined, { token })).status).toBe(404);
    expect((await loaded('latest')).messages.map((m: { content: string }) => m.content)).toEqual([
      'm1',
      'm2',
      'm3',
      'm4',
      'm5',
    ]);
  });

  it('are off by default: nothing is stored', async () => {
    const token = await plain.token('acme', 'bot');
    const id = await openSession(plain, token);
    await append(plain, token, id, ['m1', 'm2', 'm3', 'm4']);
    expect((await plain.api.request('DELETE', `/v1/sessions/${id}`, undefined, { token })).status).toBe(200);
    const listed = await snapshots(plain, token, id);
    expect(listed.status).toBe(404);
    expect(listed.body.error.code).toBe('SnapshotNotFound');
  });
});
