import type { PersistentState } from '../core/state/persistent-state.ts';
import type { SharedState } from '../core/state/shared-state.ts';
import { retainedHistory } from '../portability/subject-export.ts';
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

/** The agent's live keys with their retained versions; keys deleted while being read are left out. */
async function* persistentRecords(state: PersistentState, agent: string): AsyncGenerator<PersistentRecord> {
  for (let cursor: string | undefined; ;) {
    const page = await state.list(cursor === undefined ? {} : { cursor });
    for (const { key } of page.entries) {
      const versions = await retainedHistory(state, key);
      if (versions.length > 0) yield { type: 'persistent', agent, key, versions };
    }
    if (page.cursor === undefined) return;
    cursor = page.cursor;
  }
}

async function* sharedRecords(state: SharedState): AsyncGenerator<SharedRecord> {
  for (let cursor: string | undefined; ;) {
    const page = await state.list(cursor === undefined ? {} : { cursor });
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
