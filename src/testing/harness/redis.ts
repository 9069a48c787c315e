import { freePort } from './free-port.ts';
import {
  findExecutable,
  makeTempDir,
  removeTempDir,
  retryOnPortClash,
  spawnProcess,
  waitForPort,
} from './process.ts';

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** redis-server's process id, for reading its CPU time. */
  readonly pid: number;
  /** Output of redis-server so far, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** The redis-server binary on PATH, or `undefined`. */
export function findRedisServer(): string | undefined {
  return findExecutable('redis-server', ['/usr/bin', '/usr/local/bin']);
}

/** Starts a throwaway redis-server on a free loopback port: no persistence, no config file. */
export async function startRedis(): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined)
    throw new Error('redis-server is not installed (run deploy/test-deps.sh --check-or-install)');
  return retryOnPortClash(async () => {
    const dir = await makeTempDir('redis');
    const port = await freePort();
    const proc = await spawnProcess({
      name: 'redis-server',
      command: binary,
      // Without a config file Redis binds every interface; the test data lives only in memory.
      args: [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      ],
    });
    try {
      await waitForPort(port, { process: proc, timeoutMs: 15_000 });
    } catch (error) {
      await proc.stop(1_000);
      await removeTempDir(dir);
      throw error;
    }
    return {
      host: '127.0.0.1',
      port,
      pid: proc.pid,
      logs: () => proc.logs(),
      async stop() {
        await proc.stop();
        await removeTempDir(dir);
      },
    };
  });
}
