import type { KeyRegistry } from '../core/state/key-registry.ts';

/**
 * The names a full backup enumerates (a tenant's agents, or the tenants): the
 * directory, back-filled first with every name that `known` lists. A name whose state
 * was written by an agentstate older than the directory is missing from it until it
 * writes again; it is found here once `known` lists it, and registered, so every later
 * backup finds it in the directory. Holds the names in memory.
 */
export async function* namesWithBackfill(
  directory: Pick<KeyRegistry, 'register' | 'list'>,
  known: () => Promise<Iterable<string>>,
): AsyncGenerator<string> {
  const listed = new Set<string>();
  for await (const name of directory.list()) listed.add(name);
  for (const name of await known()) {
    if (listed.has(name)) continue;
    await directory.register(name);
    listed.add(name);
  }
  yield* [...listed].sort();
}
