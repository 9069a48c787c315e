import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What a new user does: `npm start` with no sidecar, then asks whether it is ready.
describe('agentstate serve on the embedded default', () => {
  let dataDir: string;
  let port: number;
  let child: ReturnType<typeof spawn>;
  let output = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'agentstate-serve-'));
    port = await freePort();
    child = spawn(process.execPath, ['src/main.ts', 'serve'], {
      env: { ...process.env, PORT: String(port), AGENTSTATE_DATA_DIR: dataDir, DAPR_HTTP_PORT: '', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(`http://127.0.0.1:${port}/healthz`, 20_000, () => output);
  }, 30_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers /readyz with 200 and names the embedded adapters', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = (await res.json()) as { status: string; store: string; checks: Record<string, { adapter: string; ok: boolean }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.store).toBe('embedded');
    expect(Object.values(body.checks).map((c) => c.adapter).sort()).toEqual(
      ['embedded-env-file', 'embedded-folder', 'embedded-memory', 'embedded-sqlite'],
    );
  });

  it('logs JSON lines and stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = output.trim().split('\n').map((line) => JSON.parse(line) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['agentstate listening', 'stopped']));
  });
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(url: string, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms; output:\n${logs()}`);
}
