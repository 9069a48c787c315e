import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf, type EngineRuntime } from '../engine/engine-runtime.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';

// Not under any tenant: tenant ids start with a letter or digit, so no tenant reaches it.
const NAMESPACE = '_checkpoints/agents/';

/**
 * The agents that have written checkpoints, across tenants: what the background sweep
 * of expired threads goes through, since the store cannot list keys. An agent is added
 * before its first put in each worker commits (one read when it is known, a leaf write
 * the first time ever), so the list is a superset of the agents with threads.
 */
export interface CheckpointAgents {
  /** Adds the agent, once per worker. */
  register(tenant: string, agent: string): Promise<void>;
  /** Every registered agent, sorted by tenant and agent. */
  list(): AsyncIterable<{ tenant: string; agent: string }>;
}

export function checkpointAgents(
  kv: KvStore,
  runtime: EngineRuntime = engineRuntimeOf(kv),
): CheckpointAgents {
  const index = createKeyIndex(kv, { namespace: NAMESPACE });
  const known = runtime.singleton('checkpoint-agents', NAMESPACE, () => new Set<string>());
  return {
    async register(tenant, agent) {
      assertValidNamespaceId('tenant', tenant);
      assertValidNamespaceId('agent', agent);
      const key = `${tenant}/${agent}`;
      if (known.has(key)) return;
      if (!(await index.has(key))) await index.add(key);
      known.add(key);
    },
    async *list() {
      for (let after: string | undefined; ;) {
        const page = await index.list(after === undefined ? {} : { after });
        for (const key of page.keys) {
          const [tenant = '', agent = ''] = key.split('/');
          yield { tenant, agent };
        }
        if (page.cursor === undefined) return;
        after = page.cursor;
      }
    },
  };
}
