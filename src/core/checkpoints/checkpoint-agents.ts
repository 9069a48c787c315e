import type { KvStore } from '../../ports/kv-store.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
import { keyRegistry } from '../state/key-registry.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';

// Not under any tenant: tenant ids start with a letter or digit, so no tenant reaches it.
const NAMESPACE = '_checkpoints/agents/';

/**
 * The agents that have written checkpoints, across tenants: what the background sweep
 * of expired threads goes through, since the store cannot list keys. An agent is added
 * before its first put in each worker commits (`key-registry.ts`), so the list is a
 * superset of the agents with threads.
 */
export interface CheckpointAgents {
  /** Adds the agent, once per worker. */
  register(tenant: string, agent: string): Promise<void>;
  /** Every registered agent, sorted by tenant and agent. */
  list(): AsyncIterable<{ tenant: string; agent: string }>;
}

export function checkpointAgents(kv: KvStore, runtime?: EngineRuntime): CheckpointAgents {
  const registry = keyRegistry(kv, NAMESPACE, runtime);
  return {
    async register(tenant, agent) {
      assertValidNamespaceId('tenant', tenant);
      assertValidNamespaceId('agent', agent);
      await registry.register(`${tenant}/${agent}`);
    },
    async *list() {
      for await (const key of registry.list()) {
        const [tenant = '', agent = ''] = key.split('/');
        yield { tenant, agent };
      }
    },
  };
}
