import type { KvStore } from '../../ports/kv-store.ts';

/** One leaf of a key index as its directory names it: where the leaf starts, and its id. */
export interface DirectoryEntry {
  readonly low: string;
  readonly id: string;
}

// Namespaces whose directories a worker keeps; past this the cache starts over, which
// costs each namespace one read of its directory.
const MAX_NAMESPACES = 10_000;

const caches = new WeakMap<KvStore, Map<string, DirectoryEntry[]>>();

/**
 * The key index directories this worker has read, per store and namespace. A directory
 * is only a hint (leaves link to their right siblings), so a stale one costs hops, never
 * a wrong answer; caching it saves one read per index operation.
 */
export function indexDirectoryCache(kv: KvStore): Map<string, DirectoryEntry[]> {
  let cache = caches.get(kv);
  if (cache === undefined) {
    cache = new Map();
    caches.set(kv, cache);
  }
  if (cache.size > MAX_NAMESPACES) cache.clear();
  return cache;
}
