import type { PersistentState } from '../core/state/persistent-state.ts';
import type { SharedState } from '../core/state/shared-state.ts';

/** Every entry of a listing, page by page: `{ key, version, size_bytes, updated_at, ... }`. */
export async function listEverything<E>(
  list: (cursor: string | undefined) => Promise<{ entries: E[]; cursor?: string }>,
): Promise<E[]> {
  const entries: E[] = [];
  for (let cursor: string | undefined; ;) {
    const page = await list(cursor);
    entries.push(...page.entries);
    if (page.cursor === undefined) return entries;
    cursor = page.cursor;
  }
}

const PAGE = 1000;

/** Every key of an agent's persistent state with its version, size and update time. */
export function allPersistentEntries(state: PersistentState) {
  return listEverything((cursor) => state.list({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) }));
}

/** Every key of a tenant's shared state with its version, size, writer and update time. */
export function allSharedEntries(state: SharedState) {
  return listEverything((cursor) => state.list({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) }));
}
