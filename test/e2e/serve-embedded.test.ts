import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorkerProcess, type WorkerProcess } from '../../src/testing/harness/worker-process.ts';

// What a new user does: `npm start` with no sidecar, then asks whether it is ready.
describe('agentstate serve on the embedded default', () => {
  let port: number;
  let worker: WorkerProcess;

  beforeAll(async () => {
    worker = await spawnWorkerProcess({ env: { DAPR_HTTP_PORT: '' }, logLevel: 'info' });
    port = worker.port;
  }, 30_000);

  afterAll(() => worker.stop());

  it('answers /readyz with 200 and names the embedded adapters', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = (await res.json()) as {
      store: string;
      adapters: Record<string, string>;
      checks: Record<string, { ok: boolean }>;
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.store).toBe('embedded');
    expect(body.adapters).toEqual({
      kv: 'embedded-sqlite',
      blobs: 'embedded-folder',
      bus: 'embedded-memory',
      secrets: 'embedded-env-file',
    });
    expect(Object.values(body.checks).every((check) => check.ok)).toBe(true);
  });

  it('prints a development token on stderr that the API accepts, and says what it is', async () => {
    const logs = worker.logs();
    expect(logs).toContain('DEVELOPMENT TOKEN');
    expect(logs).toMatch(/Not for production/);
    const token = /export AGENTSTATE_TOKEN=(\S+)/.exec(logs)?.[1];
    expect(token).toBeDefined();
    const unauthenticated = await fetch(`http://127.0.0.1:${port}/v1/capabilities`);
    expect(unauthenticated.status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${port}/v1/capabilities`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
  });

  it('logs JSON lines and stops cleanly on SIGTERM', async () => {
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    // stdout is JSON lines; the development token notice is plain text on stderr.
    const lines = worker
      .logs()
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['agentstate listening', 'stopped']));
  });
});
