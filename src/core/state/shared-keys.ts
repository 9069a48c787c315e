import { assertValidNamespaceId } from './user-key.ts';

/**
 * Where one tenant's shared state lives in the store: the engine's namespace
 * `${tenant}/shared/` (`engine-keys.ts`: heads, usage shards, key index). Shared keys keep
 * no history (retention 1): the spec gives shared state no `history` and no `get` of an
 * older version. Throws `InvalidInput` unless `tenant` is a valid id.
 */
export function sharedNamespace(tenant: string): string {
  assertValidNamespaceId('tenant', tenant);
  return `${tenant}/shared/`;
}
