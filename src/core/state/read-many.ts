import type { KvEntry, KvStore } from '../../ports/kv-store.ts';

// getBulk requests stay well below a sidecar's request limits.
const BULK_KEYS = 256;

/** The records of `storeKeys` that exist, read in bounded requests. */
export async function readMany(kv: KvStore, storeKeys: readonly string[]): Promise<Map<string, KvEntry>> {
  const found = new Map<string, KvEntry>();
  for (let start = 0; start < storeKeys.length; start += BULK_KEYS) {
    for (const [key, entry] of await kv.getBulk(storeKeys.slice(start, start + BULK_KEYS)))
      found.set(key, entry);
  }
  return found;
}
