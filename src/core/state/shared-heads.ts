import { AppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import { readMany } from './read-many.ts';
import { decodeRecord } from './stored-record.ts';
import type { SharedKeys } from './shared-keys.ts';
import { sharedHeadSchema, type SharedHead } from './shared-records.ts';

/** One tenant's shared state: the store and where in it the namespace lives. */
export interface SharedStore {
  readonly kv: KvStore;
  readonly keys: SharedKeys;
}

/** A head as read, with the ETag that a compare-and-swap on it must carry. */
export interface SharedHeadEntry {
  readonly head: SharedHead;
  readonly etag: string;
}

/** The head of `key`, or `undefined` if the key was never written. */
export async function readSharedHead(
  { kv, keys }: SharedStore,
  key: string,
): Promise<SharedHeadEntry | undefined> {
  const storeKey = keys.head(key);
  const entry = await kv.get(storeKey);
  return entry === undefined ? undefined : toHeadEntry(entry, storeKey, key);
}

/** The heads of those of `userKeys` that were ever written, read in bounded requests. */
export async function readSharedHeads(
  store: SharedStore,
  userKeys: readonly string[],
): Promise<Map<string, SharedHeadEntry>> {
  const entries = await readMany(
    store.kv,
    userKeys.map((key) => store.keys.head(key)),
  );
  const heads = new Map<string, SharedHeadEntry>();
  for (const key of userKeys) {
    const storeKey = store.keys.head(key);
    const entry = entries.get(storeKey);
    if (entry !== undefined) heads.set(key, toHeadEntry(entry, storeKey, key));
  }
  return heads;
}

export function isLiveShared(head: SharedHead): boolean {
  return head.deleted !== true;
}

function toHeadEntry(entry: KvEntry, storeKey: string, key: string): SharedHeadEntry {
  const head = decodeRecord(sharedHeadSchema, entry, storeKey);
  // A head that names another key was copied or written to the wrong place.
  if (head.key !== key)
    throw new AppError('DatabaseError', `store record ${storeKey} holds the head of another key`);
  return { head, etag: entry.etag };
}
