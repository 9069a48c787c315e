import { assertValidNamespaceId, encodeUserKey } from './user-key.ts';

/**
 * Where one tenant's shared state lives in the store, all under `${tenant}/shared/`:
 * - `h/<ekey>`: the key's head (current version, or a tombstone after a delete);
 * - `u`: the namespace's quota usage;
 * - `i/...`: the key index (`createKeyIndex` owns it).
 *
 * `<ekey>` is `encodeUserKey(key)`, which contains no `/`, so no user key can name a
 * record of another kind or of another namespace. Shared keys have no history records:
 * the spec gives shared state no `history` and no `get` of an older version.
 */
export interface SharedKeys {
  readonly namespace: string;
  head(key: string): string;
  readonly usage: string;
}

/** Throws `InvalidInput` unless `tenant` is a valid id. */
export function sharedKeys(tenant: string): SharedKeys {
  assertValidNamespaceId('tenant', tenant);
  const namespace = `${tenant}/shared/`;
  return {
    namespace,
    head: (key) => `${namespace}h/${encodeUserKey(key)}`,
    usage: `${namespace}u`,
  };
}
