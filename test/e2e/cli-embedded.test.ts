import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedTestWorker } from '../../src/testing/api/test-worker.ts';
import { createCliShell, type CliShell } from '../../src/testing/api/cli-runner.ts';
import { cliPortabilitySuite } from '../../src/testing/api/cli-suite.ts';
import { freePort } from '../../src/testing/harness/free-port.ts';

cliPortabilitySuite('--url, embedded worker', async () => {
  const worker = await startEmbeddedTestWorker();
  return { worker, flags: `--url ${worker.worker.url}`, env: {}, close: () => worker.close() };
});

let shell: CliShell;
beforeAll(async () => {
  shell = await createCliShell();
});
afterAll(async () => shell?.close());

it(
  'a service nobody answers at is Unavailable (7), through AGENTSTATE_URL',
  { timeout: 30_000 },
  async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await shell.run('agentstate subject export bot', {
      AGENTSTATE_URL: url,
      AGENTSTATE_TOKEN: 'x',
    });
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stderr).toContain(`agentstate: Unavailable: cannot reach ${url}`);
  },
);
