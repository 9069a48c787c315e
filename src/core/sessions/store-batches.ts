import type { KvEntry, KvStore } from '../../ports/kv-store.ts';

// Many keys in bounded requests, so that no request passes a sidecar's limits
// (daprd: 4 MiB bodies; some state stores cap transactions at 100 operations).
const READ_BATCH = 256;
const DELETE_BATCH = 100;

/** The records of `storeKeys` that exist. */
export async function readMany(kv: KvStore, storeKeys: readonly string[]): Promise<Map<string, KvEntry>> {
  const found = new Map<string, KvEntry>();
  for (let start = 0; start < storeKeys.length; start += READ_BATCH) {
    for (const [key, entry] of await kv.getBulk(storeKeys.slice(start, start + READ_BATCH)))
      found.set(key, entry);
  }
  return found;
}

/**
 * Deletes `storeKeys` unconditionally. Batches go in transactions for fewer round trips;
 * nothing depends on a batch being atomic, since every key is deleted whatever happens
 * to the others.
 */
export async function deleteMany(kv: KvStore, storeKeys: readonly string[]): Promise<void> {
  for (let start = 0; start < storeKeys.length; start += DELETE_BATCH) {
    await kv.transact(
      storeKeys.slice(start, start + DELETE_BATCH).map((key) => ({ op: 'delete' as const, key })),
    );
  }
}
