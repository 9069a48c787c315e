import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChecksum } from '../../src/portability/checksum.ts';
import { expectError } from '../../src/testing/api/capability-suite.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

// Restores are read as they arrive, so they are bounded by AGENTSTATE_IMPORT_MAX_BYTES,
// not by the 5 MB of other bodies.
const MAX = 7_000_000;
let w: TestWorker;
beforeAll(async () => {
  w = await startEmbeddedTestWorker({ AGENTSTATE_IMPORT_MAX_BYTES: String(MAX) });
}, 60_000);
afterAll(async () => w?.close());

function snapshotOf(messages: number) {
  const at = new Date().toISOString();
  return withChecksum({
    schema_version: 1,
    tenant_id: 'big',
    agent_id: 'bot',
    session_id: randomUUID(),
    status: 'active',
    created_at: at,
    messages: Array.from({ length: messages }, (_, i) => ({
      seq: i + 1,
      role: 'user',
      content: `${i} ${'x'.repeat(300)}`,
      timestamp: at,
    })),
    events: [],
    event_log_count: 0,
    tags: {},
    source_environment: 'test',
    exported_at: at,
  });
}

describe('documents larger than the body limit', () => {
  it('a 6 MB snapshot restores, and exports again as the same messages', async () => {
    const token = await w.token('big', 'ops', ['operator']);
    const snapshot = snapshotOf(17_000);
    const text = JSON.stringify(snapshot);
    expect(text.length).toBeGreaterThan(5 * 1024 * 1024);
    expect(text.length).toBeLessThan(MAX);
    const report = await w.api.request('POST', '/v1/snapshots/restore', undefined, { token, rawBody: text });
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body.messages_restored).toBe(17_000);
    const again = await w.api.request(
      'GET',
      `/v1/agents/bot/sessions/${snapshot.session_id}/snapshot`,
      undefined,
      { token },
    );
    expect(again.status).toBe(200);
    expect(again.body.messages).toEqual(snapshot.messages);
  });

  it('a body over AGENTSTATE_IMPORT_MAX_BYTES is PayloadTooLarge, and nothing is written', async () => {
    const token = await w.token('big', 'ops', ['operator']);
    const snapshot = snapshotOf(22_000);
    const text = JSON.stringify(snapshot);
    expect(text.length).toBeGreaterThan(MAX);
    const res = await w.api.request('POST', '/v1/snapshots/restore', undefined, { token, rawBody: text });
    expectError(res, 413, 'PayloadTooLarge');
    expectError(
      await w.api.request('GET', `/v1/sessions/${snapshot.session_id}`, undefined, { token }),
      404,
      'SessionNotFound',
    );
  });
});
