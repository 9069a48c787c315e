import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf, type EngineRuntime } from '../engine/engine-runtime.ts';
import { createKeyIndex } from './key-index.ts';

/**
 * A set of names that only grows, kept in a sorted key index under `namespace`: what a
 * sweep or a backup enumerates, since the store cannot list keys. A writer registers
 * its name before its first write in each worker commits, so the set is a superset of
 * the names with data: one read while the name is known to the store, a leaf write the
 * first time ever, and nothing once this worker knows it (the names known are
 * per worker and per namespace, in the engine runtime).
 */
export interface KeyRegistry {
  /** Adds `name` to the store, once per worker. */
  register(name: string): Promise<void>;
  /** Every registered name, sorted, a page of the index at a time. */
  list(): AsyncIterable<string>;
}

export function keyRegistry(
  kv: KvStore,
  namespace: string,
  runtime: EngineRuntime = engineRuntimeOf(kv),
): KeyRegistry {
  const index = createKeyIndex(kv, { namespace });
  const known = runtime.singleton('key-registry', namespace, () => new Set<string>());
  return {
    async register(name) {
      if (known.has(name)) return;
      if (!(await index.has(name))) await index.add(name);
      known.add(name);
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
