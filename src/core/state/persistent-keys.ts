import { assertValidNamespaceId, encodeUserKey } from './user-key.ts';

/** Versions are zero-padded in store keys so that they sort; 12 digits is 10^12 versions. */
const VERSION_DIGITS = 12;
export const MAX_VERSION = 10 ** VERSION_DIGITS - 1;

/**
 * Where one agent's persistent state lives in the store, all under
 * `${tenant}/a/${agent}/p/`:
 * - `h/<ekey>`: the key's head (current version, or a tombstone);
 * - `v/<ekey>/<version>`: the immutable record of an earlier version;
 * - `u`: the namespace's quota usage;
 * - `i/...`: the key index (`createKeyIndex` owns it).
 *
 * `<ekey>` is `encodeUserKey(key)`, which contains no `/`, so no user key can name a
 * record of another kind or of another namespace.
 */
export interface PersistentKeys {
  readonly namespace: string;
  head(key: string): string;
  history(key: string, version: number): string;
  readonly usage: string;
}

/** Throws `InvalidInput` unless tenant and agent are valid ids. */
export function persistentKeys(tenant: string, agent: string): PersistentKeys {
  assertValidNamespaceId('tenant', tenant);
  assertValidNamespaceId('agent', agent);
  const namespace = `${tenant}/a/${agent}/p/`;
  return {
    namespace,
    head: (key) => `${namespace}h/${encodeUserKey(key)}`,
    history: (key, version) =>
      `${namespace}v/${encodeUserKey(key)}/${String(version).padStart(VERSION_DIGITS, '0')}`,
    usage: `${namespace}u`,
  };
}
