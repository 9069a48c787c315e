import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/testing/harness/free-port.ts';
import { findExecutable, makeTempDir, waitForHttp } from '../../src/testing/harness/process.ts';

// What a new user (or a container runtime) does: `npm start`, then SIGTERM to that
// process. npm passes the signal to its script's shell only, so the script must hand
// the worker that shell's place or the worker is orphaned, still serving.
describe('npm start', () => {
  let npm: ChildProcess;
  let health: string;

  beforeAll(async () => {
    const port = await freePort();
    health = `http://127.0.0.1:${port}/healthz`;
    const npmPath = findExecutable('npm');
    if (npmPath === undefined) throw new Error('npm is not on PATH');
    // Its own process group, so that cleanup reaches an orphaned worker too.
    npm = spawn(npmPath, ['start'], {
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        PORT: String(port),
        AGENTSTATE_DATA_DIR: await makeTempDir('npm-start'),
        DAPR_HTTP_PORT: '',
        LOG_LEVEL: 'warn',
      },
    });
    await waitForHttp(health, { timeoutMs: 30_000 });
  }, 40_000);

  afterAll(() => {
    try {
      if (npm.pid !== undefined) process.kill(-npm.pid, 'SIGKILL');
    } catch {
      // The group is gone: nothing was left running.
    }
  });

  it('stops the worker when npm gets SIGTERM', async () => {
    const exited = once(npm, 'exit');
    npm.kill('SIGTERM');
    await exited;
    let answering = true;
    for (let attempt = 0; attempt < 50 && answering; attempt++) {
      answering = await fetch(health, { signal: AbortSignal.timeout(1_000) }).then(
        async (response) => {
          await response.body?.cancel();
          return true;
        },
        () => false,
      );
      if (answering) await sleep(100);
    }
    expect(answering, 'the worker still answers /healthz after npm exited').toBe(false);
  }, 20_000);
});
