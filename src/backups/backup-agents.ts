import type { AgentDirectory } from '../core/state/agent-directory.ts';

/**
 * The agents a full backup enumerates: the tenant's agent directory, back-filled first
 * with every agent that `known` lists (the agents the tenant has seen active). An agent
 * whose state was written by an agentstate older than the directory is missing from it
 * until it writes again; it is found here once it was active at all, and registered,
 * so every later backup finds it in the directory. Holds the agents' names in memory.
 */
export async function* agentsWithBackfill(
  directory: AgentDirectory,
  known: () => Promise<readonly string[]>,
): AsyncGenerator<string> {
  const listed = new Set<string>();
  for await (const agent of directory.list()) listed.add(agent);
  for (const agent of await known()) {
    if (listed.has(agent)) continue;
    await directory.register(agent);
    listed.add(agent);
  }
  yield* [...listed].sort();
}
