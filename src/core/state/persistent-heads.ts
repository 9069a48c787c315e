import { AppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import type { PersistentKeys } from './persistent-keys.ts';
import { headSchema, type Head } from './persistent-records.ts';
import { decodeRecord } from './stored-record.ts';

/** One agent's persistent state: the store and where in it the namespace lives. */
export interface PersistentStore {
  readonly kv: KvStore;
  readonly keys: PersistentKeys;
}

/** A head as read, with the ETag that a compare-and-swap on it must carry. */
export interface HeadEntry {
  readonly head: Head;
  readonly etag: string;
}

// getBulk requests stay well below a sidecar's request limits.
const BULK_KEYS = 256;

/** The head of `key`, or `undefined` if the key was never written. */
export async function readHead({ kv, keys }: PersistentStore, key: string): Promise<HeadEntry | undefined> {
  const storeKey = keys.head(key);
  const entry = await kv.get(storeKey);
  return entry === undefined ? undefined : toHeadEntry(entry, storeKey, key);
}

/** The heads of those of `userKeys` that were ever written. */
export async function readHeads(
  store: PersistentStore,
  userKeys: readonly string[],
): Promise<Map<string, HeadEntry>> {
  const entries = await readMany(
    store.kv,
    userKeys.map((key) => store.keys.head(key)),
  );
  const heads = new Map<string, HeadEntry>();
  for (const key of userKeys) {
    const storeKey = store.keys.head(key);
    const entry = entries.get(storeKey);
    if (entry !== undefined) heads.set(key, toHeadEntry(entry, storeKey, key));
  }
  return heads;
}

/** The records of `storeKeys` that exist, read in bounded requests. */
export async function readMany(kv: KvStore, storeKeys: readonly string[]): Promise<Map<string, KvEntry>> {
  const found = new Map<string, KvEntry>();
  for (const chunk of chunks(storeKeys, BULK_KEYS)) {
    for (const [key, entry] of await kv.getBulk(chunk)) found.set(key, entry);
  }
  return found;
}

export function isLive(head: Head): boolean {
  return head.deleted !== true;
}

function toHeadEntry(entry: KvEntry, storeKey: string, key: string): HeadEntry {
  const head = decodeRecord(headSchema, entry, storeKey);
  // A head that names another key was copied or written to the wrong place.
  if (head.key !== key)
    throw new AppError('DatabaseError', `store record ${storeKey} holds the head of another key`);
  return { head, etag: entry.etag };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
