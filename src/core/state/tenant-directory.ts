import type { KvStore } from '../../ports/kv-store.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
import { keyRegistry } from './key-registry.ts';
import { assertValidNamespaceId } from './user-key.ts';

// Not under any tenant: tenant ids start with a letter or digit, so no tenant reaches it.
const NAMESPACE = '_tenants/';

/**
 * The tenants that have written persistent or shared state: what a platform operator's
 * full backup enumerates, since the store cannot list keys. A tenant is added before
 * its first such write in each worker commits (`key-registry.ts`,
 * `registering-writes.ts`), so the directory is a superset of the tenants with state.
 */
export interface TenantDirectory {
  /** Adds `tenant`, once per worker. */
  register(tenant: string): Promise<void>;
  /** Every registered tenant, sorted. */
  list(): AsyncIterable<string>;
}

export function tenantDirectory(kv: KvStore, runtime?: EngineRuntime): TenantDirectory {
  const registry = keyRegistry(kv, NAMESPACE, runtime);
  return {
    async register(tenant) {
      assertValidNamespaceId('tenant', tenant);
      await registry.register(tenant);
    },
    list: () => registry.list(),
  };
}
