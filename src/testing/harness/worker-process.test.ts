import { describe, expect, it } from 'vitest';
import { spawnWorkerProcess } from './worker-process.ts';

describe('spawnWorkerProcess', () => {
  it('fails with the worker output when the worker cannot start', async () => {
    await expect(spawnWorkerProcess({ env: { AGENTSTATE_STORE: 'redis' } })).rejects.toThrow(
      /exited \(code 1.*invalid configuration.*store/s,
    );
  });

  it('kills a worker with SIGKILL and respawns it on the same port and data dir', async () => {
    const first = await spawnWorkerProcess({ env: { AGENTSTATE_STORE: 'embedded' } });
    await expect(first.respawn()).rejects.toThrow(/still runs/);
    expect((await first.kill()).signal).toBe('SIGKILL');
    const second = await first.respawn();
    try {
      expect([second.url, second.dataDir]).toEqual([first.url, first.dataDir]);
      expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await second.stop()).toEqual({ code: 0, signal: null });
    }
  });
});
