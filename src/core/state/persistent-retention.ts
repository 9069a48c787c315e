import type { KvOperation } from '../../ports/kv-store.ts';
import { ignoringConflict } from './cas-retry.ts';
import { isLive, type HeadEntry, type PersistentStore } from './persistent-heads.ts';
import type { Head } from './persistent-records.ts';

// Deletions go to the store in transactions of this many; they are unconditional and
// idempotent, so a store whose transactions are not atomic (Redis) serves as well.
const DELETES_PER_TRANSACTION = 100;

/**
 * The lowest version of the head's key that reads may answer: for a live key the last
 * `retention` versions counting the head, never one below `pruned_below` (which also
 * marks where the key was last re-created); for a tombstone none at all. History
 * records below the floor may still exist after a crash; they are never shown.
 */
export function visibleFloor(head: Head, retention: number): number {
  return isLive(head) ? Math.max(head.pruned_below, head.version - retention + 1) : head.version + 1;
}

/** Whether history records below the floor may remain, so `pruneHistory` has work. */
export function needsPruning(head: Head, retention: number): boolean {
  return head.pruned_below < visibleFloor(head, retention);
}

/**
 * Deletes the key's history records from `pruned_below` up to the floor, then records
 * the progress in the head. Safe from anyone at any time: a record below the floor of
 * some head is below the floor of every later head, so nobody will read it again. If
 * the head changed meanwhile its progress is not recorded, and whoever writes or reads
 * it next deletes the same range again, which changes nothing.
 */
export async function pruneHistory(
  { kv, keys }: PersistentStore,
  { head, etag }: HeadEntry,
  retention: number,
): Promise<void> {
  const floor = visibleFloor(head, retention);
  const deletes: KvOperation[] = [];
  for (let version = head.pruned_below; version < floor; version++)
    deletes.push({ op: 'delete', key: keys.history(head.key, version) });
  if (deletes.length === 0) return;
  for (let start = 0; start < deletes.length; start += DELETES_PER_TRANSACTION)
    await kv.transact(deletes.slice(start, start + DELETES_PER_TRANSACTION));
  await ignoringConflict(() => kv.save(keys.head(head.key), { ...head, pruned_below: floor }, { etag }));
}
