import { setTimeout as sleep } from 'node:timers/promises';
import { logTail, type ManagedProcess } from '../../src/testing/harness/index.ts';

/**
 * The port a bench server child prints after `marker` once it listens, as a loopback
 * URL; stops the child and throws when it exits or stays silent for 10 s.
 */
export async function readyUrl(proc: ManagedProcess, marker: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const line = proc
      .logs()
      .split('\n')
      .find((l) => l.startsWith(marker));
    if (line !== undefined) return `http://127.0.0.1:${Number(line.slice(marker.length))}`;
    if (proc.exitStatus() !== undefined) break;
    await sleep(50);
  }
  await proc.stop(1_000);
  throw new Error(`${proc.name} did not start\n${logTail(proc)}`);
}
