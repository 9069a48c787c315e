import type { KvStore } from '../../ports/kv-store.ts';
import type { PersistentState } from './persistent-state.ts';
import { engineRuntimeOf } from '../engine/engine-runtime.ts';
import { createKeyIndex } from './key-index.ts';
import { assertJsonValue } from './persistent-input.ts';
import { assertValidNamespaceId, assertValidUserKey } from './user-key.ts';

/**
 * The agents of a tenant that have written persistent state: what a full backup
 * enumerates, since the store cannot list keys. An agent is added before its first
 * write in each worker commits (one read when it is known, a leaf write the first time
 * ever), so the directory is a superset of the agents with state; agents whose state
 * was deleted stay listed and simply back up nothing.
 */
export interface AgentDirectory {
  /** Adds `agent`, once per worker. */
  register(agent: string): Promise<void>;
  /** Every registered agent, sorted. */
  list(): AsyncIterable<string>;
}

export function agentDirectory(kv: KvStore, tenant: string): AgentDirectory {
  assertValidNamespaceId('tenant', tenant);
  const namespace = `${tenant}/agents/`;
  const index = createKeyIndex(kv, { namespace });
  const known = engineRuntimeOf(kv).singleton('agent-directory', namespace, () => new Set<string>());
  return {
    async register(agent) {
      if (known.has(agent)) return;
      if (!(await index.has(agent))) await index.add(agent);
      known.add(agent);
    },
    async *list() {
      for (let after: string | undefined; ;) {
        const page = await index.list(after === undefined ? {} : { after });
        yield* page.keys;
        if (page.cursor === undefined) return;
        after = page.cursor;
      }
    },
  };
}

/** `state` with the agent registered before every write (`set`, `load`) commits. */
export function registeringWrites(
  state: PersistentState,
  directory: AgentDirectory,
  agent: string,
): PersistentState {
  return {
    ...state,
    async set(key, value) {
      // Bad input writes nothing, not even the directory entry.
      assertValidUserKey(key);
      assertJsonValue(value);
      await directory.register(agent);
      return state.set(key, value);
    },
    async load(items, options) {
      if (items.length > 0) await directory.register(agent);
      return state.load(items, options);
    },
  };
}
