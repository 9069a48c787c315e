import type { KvStore } from '../../ports/kv-store.ts';
import { keyRegistry, type KeyRegistry } from './key-registry.ts';
import { assertValidNamespaceId } from './user-key.ts';

/**
 * The agents of a tenant that have written persistent state: what a full backup
 * enumerates, since the store cannot list keys. An agent is added before its first
 * write in each worker commits (`key-registry.ts`, `registering-writes.ts`), so the
 * directory is a superset of the agents with state; agents whose state was deleted
 * stay listed and simply back up nothing.
 */
export type AgentDirectory = KeyRegistry;

export function agentDirectory(kv: KvStore, tenant: string): AgentDirectory {
  assertValidNamespaceId('tenant', tenant);
  return keyRegistry(kv, `${tenant}/agents/`);
}
