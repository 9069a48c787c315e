import type { KvStore } from '../../ports/kv-store.ts';
import { checkpointAgents } from './checkpoint-agents.ts';
import type { Checkpoints } from './checkpoints.ts';

/**
 * Sweeps every agent that has written checkpoints, one after the other, every
 * `intervalMs` (the first pass one interval after the start). An agent whose sweep
 * fails is reported and tried again at the next pass; the others go on.
 */
export function startThreadSweep(
  kv: KvStore,
  checkpointsOf: (tenant: string, agent: string) => Checkpoints,
  intervalMs: number,
  report: (error: unknown, agent: { tenant: string; agent: string }) => void,
): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  async function pass(): Promise<void> {
    for await (const agent of checkpointAgents(kv).list()) {
      if (stopped) return;
      await checkpointsOf(agent.tenant, agent.agent)
        .sweep()
        .catch((error: unknown) => report(error, agent));
    }
  }
  const timer = setInterval(() => {
    running = running.then(pass).catch((error: unknown) => report(error, { tenant: '', agent: '' }));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
