import { engineKeys } from '../engine/engine-keys.ts';
import { usageShardKeys } from '../engine/usage-shards.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';

/** Sequence numbers are zero-padded in store keys so that they sort. */
const SEQ_DIGITS = 12;

/**
 * Where one session lives in the store, all under `${tenant}/s/${sessionId}/`:
 * - `meta`: the session record, the commit point of its lifecycle and of both logs;
 * - `m/<seq>` and `e/<seq>`: the records of its messages and events;
 * - `kv/<generation>/`: its key-values. `clear` starts the next generation, so the
 *   records of the last one are unreachable at once (see `session-state.ts`).
 *
 * Session ids are UUIDs and tenants match `idSchema`, so neither contains a `/`.
 */
export interface SessionKeys {
  /** Every record of the session starts with this. */
  readonly prefix: string;
  readonly meta: string;
  message(seq: number): string;
  event(seq: number): string;
  values(generation: number): ValueKeys;
}

/**
 * The records of one generation of key-values, a namespace of the versioned-record
 * engine with no history (`engine-keys.ts`): `h/<ekey>` heads, `u/<n>` usage shards and
 * `i/...` the key index.
 */
export interface ValueKeys {
  readonly namespace: string;
  /** The head record of `key`: its value, or its tombstone. */
  value(key: string): string;
  readonly usageShards: readonly string[];
}

/** Throws `InvalidInput` unless `tenant` is a valid id; `sessionId` must be a UUID already. */
export function sessionKeys(tenant: string, sessionId: string): SessionKeys {
  assertValidNamespaceId('tenant', tenant);
  const prefix = `${tenant}/s/${sessionId}/`;
  const seq = (n: number) => String(n).padStart(SEQ_DIGITS, '0');
  return {
    prefix,
    meta: `${prefix}meta`,
    message: (n) => `${prefix}m/${seq(n)}`,
    event: (n) => `${prefix}e/${seq(n)}`,
    values(generation) {
      const namespace = `${prefix}kv/${generation}/`;
      const heads = engineKeys(namespace);
      return { namespace, value: (key) => heads.head(key), usageShards: usageShardKeys(namespace) };
    },
  };
}
