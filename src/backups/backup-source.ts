import type { PersistentState } from '../core/state/persistent-state.ts';
import type { SharedState } from '../core/state/shared-state.ts';
import type { PersistentRecord, SharedRecord, StateRecord } from './backup-records.ts';

export interface BackupSource {
  readonly persistent: (agent: string) => PersistentState;
  readonly shared: () => SharedState;
  /** The agents of a full backup. */
  readonly agents: () => AsyncIterable<string>;
}

/** What a backup of `scope` holds, one key at a time: the agents' keys in order, then the shared keys. */
export async function* recordsOf(source: BackupSource, scope: string): AsyncGenerator<StateRecord> {
  if (scope.startsWith('agent:')) {
    yield* persistentRecords(source.persistent(scope.slice('agent:'.length)), scope.slice('agent:'.length));
    return;
  }
  for await (const agent of source.agents()) yield* persistentRecords(source.persistent(agent), agent);
  yield* sharedRecords(source.shared());
}

/**
 * Keys per page of persistent state: values of a page are in memory at once, so it is
 * small (at most this many values, each below the store's record limit).
 */
const PERSISTENT_PAGE = 32;

/**
 * The agent's live keys with their retained versions, a page of heads per bulk read; the
 * next page is read while this one is consumed (compressed, encrypted, stored), so two
 * pages at most are in memory.
 */
async function* persistentRecords(state: PersistentState, agent: string): AsyncGenerator<PersistentRecord> {
  const pageAfter = (cursor: string | undefined) => {
    const page = state.versionsPage({ limit: PERSISTENT_PAGE, ...(cursor === undefined ? {} : { cursor }) });
    // Awaited below; one left behind when the consumer stops is not unhandled.
    page.catch(() => undefined);
    return page;
  };
  for (let next = pageAfter(undefined); ;) {
    const page = await next;
    if (page.cursor !== undefined) next = pageAfter(page.cursor);
    for (const { key, versions } of page.keys) yield { type: 'persistent', agent, key, versions };
    if (page.cursor === undefined) return;
  }
}

/** Shared keys per listing page: a page holds the keys' values too, so it is small as well. */
const SHARED_PAGE = 32;

async function* sharedRecords(state: SharedState): AsyncGenerator<SharedRecord> {
  for (let cursor: string | undefined; ;) {
    const page = await state.list({ limit: SHARED_PAGE, ...(cursor === undefined ? {} : { cursor }) });
    for (const { key } of page.entries) {
      const entry = await state.get(key);
      if (entry.found && entry.owner_agent !== null && entry.updated_at !== null)
        yield {
          type: 'shared',
          key,
          value: entry.value,
          version: entry.version,
          owner_agent: entry.owner_agent,
          updated_at: entry.updated_at,
        };
    }
    if (page.cursor === undefined) return;
    cursor = page.cursor;
  }
}
