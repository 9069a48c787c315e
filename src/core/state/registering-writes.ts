import type { PersistentState } from './persistent-state.ts';
import { assertJsonValue } from './persistent-input.ts';
import type { SharedState } from './shared-state.ts';
import { assertValidUserKey } from './user-key.ts';

// The directories a backup enumerates (agents of a tenant, tenants) learn of a writer
// before its first write in each worker commits; once the worker knows the writer,
// `register` answers from memory and the write costs what it cost without it.

/** `state` with `register` run before every write that creates state (`set`, `load`) commits. */
export function registeringWrites(state: PersistentState, register: () => Promise<void>): PersistentState {
  return {
    ...state,
    async set(key, value) {
      // Bad input writes nothing, not even a directory entry.
      assertValidUserKey(key);
      assertJsonValue(value);
      await register();
      return state.set(key, value);
    },
    async load(items, options) {
      if (items.length > 0) await register();
      return state.load(items, options);
    },
  };
}

/** Shared `state` with `register` run before every write that creates state (`set`, `load`) commits. */
export function registeringSharedWrites(state: SharedState, register: () => Promise<void>): SharedState {
  return {
    ...state,
    async set(agent, key, value, expectedVersion) {
      assertValidUserKey(key);
      assertJsonValue(value);
      await register();
      return state.set(agent, key, value, expectedVersion);
    },
    async load(items) {
      if (items.length > 0) await register();
      return state.load(items);
    },
  };
}
