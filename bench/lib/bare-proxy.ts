import { fileURLToPath } from 'node:url';
import { spawnProcess } from '../../src/testing/harness/index.ts';
import { BARE_PROXY_READY } from './bare-proxy-server.ts';
import type { HttpClient } from './http-client.ts';
import { readyUrl } from './ready-line.ts';
import { STATE_STORE, type Target } from './targets.ts';

const serverEntry = fileURLToPath(new URL('./bare-proxy-server.ts', import.meta.url));

/** The bare Node.js proxy (bare-proxy-server.ts) in front of a target's daprd. */
export interface BareProxy {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  /** The target's processes with the proxy in the worker's place, for CPU time per operation. */
  readonly processes: Target['processes'];
  stop(): Promise<void>;
}

export async function startBareProxy(http: HttpClient, target: Target): Promise<BareProxy> {
  if (target.daprEndpoint === undefined) throw new Error('the bare proxy needs a Dapr target');
  const proc = await spawnProcess({
    name: 'bare Node.js proxy',
    command: process.execPath,
    args: [serverEntry, 'serve', new URL(target.daprEndpoint).port, STATE_STORE],
  });
  const url = await readyUrl(proc, BARE_PROXY_READY);
  const keyUrl = (key: string) => `${url}/state/bench-proxy%2F${encodeURIComponent(key)}`;
  return {
    get: (key) => http.ok('GET', keyUrl(key)),
    set: (key, value) => http.ok('PUT', keyUrl(key), JSON.stringify(value)),
    processes: [
      { label: 'bare proxy', pid: proc.pid },
      ...target.processes.filter((p) => p.pid !== target.worker.pid),
    ],
    async stop() {
      await proc.stop(1_000);
    },
  };
}
