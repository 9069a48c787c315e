import { encodeUserKey } from '../state/user-key.ts';
import { VERSION_DIGITS } from './head-record.ts';

/**
 * Where one namespace's records live, all under its prefix:
 * - `h/<ekey>`: the key's head (current version, or a tombstone);
 * - `v/<ekey>/<version>`: the immutable record of an earlier version;
 * - `u/<n>`: the usage shards (`usage-shards.ts`);
 * - `i/...`: the key index (`key-index.ts`).
 *
 * `<ekey>` is `encodeUserKey(key)`, which contains no `/`, so no user key can name a
 * record of another kind or of another namespace.
 */
export interface EngineKeys {
  readonly namespace: string;
  head(key: string): string;
  history(key: string, version: number): string;
}

export function engineKeys(namespace: string): EngineKeys {
  return {
    namespace,
    head: (key) => `${namespace}h/${encodeUserKey(key)}`,
    history: (key, version) =>
      `${namespace}v/${encodeUserKey(key)}/${String(version).padStart(VERSION_DIGITS, '0')}`,
  };
}
