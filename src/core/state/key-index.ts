import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError, isAppError } from '../errors.ts';
import type { KvEntry, KvOperation, KvStore } from '../../ports/kv-store.ts';
import { indexDirectoryCache, type DirectoryEntry } from './index-directory-cache.ts';

/**
 * The sorted set of keys of one namespace, over a `KvStore` that offers nothing but
 * single-key compare-and-swap (Dapr has no key listing: dapr/dapr#944). A B-link
 * list of range-partitioned leaf pages:
 *
 * - `i/l/<id>`: a leaf, the sorted keys in `[low, high)`, and `right`, the id of the leaf
 *   that starts at `high`. Leaf `0` starts at `''` and exists once a key was added.
 * - `i/d`: the directory, the `low` fence and id of every leaf, as a hint only.
 *
 * A leaf splits by writing its upper half as a new leaf (create-if-absent), then one CAS
 * on the old leaf that cuts it at the split key and links the new one: that CAS is the
 * split's commit point, and a crash before it leaves only an unreferenced page. The
 * directory learns of the new leaf afterwards. Leaves are never merged or deleted, so a
 * reader holding a stale directory lands on a leaf at or left of the key it wants and
 * reaches the right one by following `right` (Lehman and Yao's B-link trick): the
 * directory is cached per worker, and a page of `limit` keys reads the leaves that hold
 * them — O(limit) index bytes, whatever the namespace's size.
 *
 * Adding a key rewrites its leaf even when the key is already there, so that a collector
 * that read the leaf before (`removeIf`) fails its CAS: see `removeIf`.
 */
export interface KeyIndex {
  /** Adds `key`. Always rewrites the leaf that holds it (see above). */
  add(key: string): Promise<void>;
  /**
   * Reads the leaf that holds `key` and answers the save that adds it, unsent, for a
   * caller whose store's transactions are atomic to commit in one request with its own
   * operations: if the leaf changed meanwhile, the whole request fails with
   * `VersionConflict` and the caller starts over. A full leaf is split first.
   */
  prepareAdd(key: string): Promise<KvOperation>;
  /** Adds many keys, one CAS per leaf they fall in: the bulk-load path. */
  addMany(keys: readonly string[]): Promise<void>;
  /** Removes `key`; removing an absent key changes nothing. */
  remove(key: string): Promise<void>;
  /**
   * Removes, of `keys`, those in the leaf that holds the first of them which `confirm`
   * answers, where `confirm` runs after the leaf was read and before the CAS that
   * removes them: if the leaf changed in between (a creator added or touched a key),
   * nothing is removed (`removed` false). A creator adds its key before it commits, so a
   * collector whose `confirm` fences the keys' heads never removes a key whose creator
   * commits. `rest` are the keys beyond that leaf, for the next call.
   */
  removeIf(
    keys: readonly string[],
    confirm: (keys: string[]) => Promise<string[]>,
  ): Promise<{ rest: string[]; removed: boolean }>;
  /** Whether `key` is in the index. */
  has(key: string): Promise<boolean>;
  /** Keys starting with `prefix` and sorting after `after`, ascending, at most `limit`. */
  list(options?: ListKeysOptions): Promise<ListedKeys>;
}

export interface ListKeysOptions {
  readonly prefix?: string;
  /** The `cursor` of the previous page: listing resumes after this key. */
  readonly after?: string;
  /** @default 1000 */
  readonly limit?: number;
}

export interface ListedKeys {
  readonly keys: string[];
  /** The last key of this page when more follow. */
  readonly cursor?: string;
}

export interface KeyIndexOptions {
  /** The namespace's key prefix in the store, ending in `/`. */
  readonly namespace: string;
  /** A leaf splits when an add would take it past this many keys. @default 128 */
  readonly maxLeafKeys?: number;
}

const leafSchema = z.object({
  low: z.string(),
  high: z.string().exactOptional(),
  right: z.string().exactOptional(),
  keys: z.array(z.string()),
});
type Leaf = z.infer<typeof leafSchema>;
const directorySchema = z.object({
  leaves: z.array(z.object({ low: z.string(), id: z.string() })).min(1),
});

// A leaf also splits past this many bytes of keys, so that 512-byte keys keep pages small.
const MAX_LEAF_BYTES = 48 * 1024;
// A writer that keeps losing races gives up rather than spin; callers see DatabaseError.
const MAX_ATTEMPTS = 200;
const ROOT = '0';
const EMPTY_ROOT: Leaf = { low: '', keys: [] };

interface LeafEntry {
  readonly id: string;
  readonly leaf: Leaf;
  /** `undefined` for the root before its first write. */
  readonly etag: string | undefined;
}

export function createKeyIndex(kv: KvStore, { namespace, maxLeafKeys = 128 }: KeyIndexOptions): KeyIndex {
  const directoryKey = `${namespace}i/d`;
  const leafKey = (id: string) => `${namespace}i/l/${id}`;
  const directories = indexDirectoryCache(kv);

  function decodeLeaf(id: string, entry: KvEntry): LeafEntry {
    const parsed = leafSchema.safeParse(entry.value);
    if (!parsed.success) throw damaged(leafKey(id));
    return { id, leaf: parsed.data, etag: entry.etag };
  }

  async function readLeaf(id: string): Promise<LeafEntry> {
    const entry = await kv.get(leafKey(id));
    if (entry !== undefined) return decodeLeaf(id, entry);
    if (id === ROOT) return { id, leaf: EMPTY_ROOT, etag: undefined };
    throw new AppError('DatabaseError', `key index of ${namespace} links a leaf that does not exist`);
  }

  /** The leaf whose range holds `key`, from the cached directory and `right` links. */
  async function locate(key: string): Promise<LeafEntry> {
    try {
      return await locateFrom(directories.get(namespace), key);
    } catch (error) {
      // A cached directory of a store emptied under this worker names leaves that are gone.
      if (!directories.has(namespace) || !isAppError(error, 'DatabaseError')) throw error;
      directories.delete(namespace);
      return locateFrom(undefined, key);
    }
  }

  async function locateFrom(cached: DirectoryEntry[] | undefined, key: string): Promise<LeafEntry> {
    let current: LeafEntry;
    if (cached === undefined) {
      // One request for the directory and the root, which is all a small namespace has.
      const found = await kv.getBulk([directoryKey, leafKey(ROOT)]);
      const directory = found.get(directoryKey);
      cached =
        directory === undefined ? [{ low: '', id: ROOT }] : decodeDirectory(directory.value, directoryKey);
      directories.set(namespace, cached);
      const root = found.get(leafKey(ROOT));
      const start = startOf(cached, key);
      current =
        start === ROOT
          ? root === undefined
            ? { id: ROOT, leaf: EMPTY_ROOT, etag: undefined }
            : decodeLeaf(ROOT, root)
          : await readLeaf(start);
    } else {
      current = await readLeaf(startOf(cached, key));
    }
    let hops = 0;
    while (current.leaf.high !== undefined && key >= current.leaf.high) {
      if (current.leaf.right === undefined) throw damaged(leafKey(current.id));
      current = await readLeaf(current.leaf.right);
      hops++;
    }
    // A directory that missed a split costs hops; read it again next time.
    if (hops > 1) directories.delete(namespace);
    return current;
  }

  function leafSave(entry: LeafEntry, leaf: Leaf): KvOperation {
    return {
      op: 'save',
      key: leafKey(entry.id),
      value: leaf,
      options: entry.etag === undefined ? { ifAbsent: true } : { etag: entry.etag },
    };
  }

  async function saveLeaf(entry: LeafEntry, leaf: Leaf): Promise<void> {
    // A one-operation transaction: the new ETag is never needed, so no read-back.
    await kv.transact([leafSave(entry, leaf)]);
  }

  /** Splits a full leaf; the caller retries its change on whichever half holds its key. */
  async function split(entry: LeafEntry): Promise<void> {
    const { leaf } = entry;
    const middle = Math.floor(leaf.keys.length / 2);
    const separator = leaf.keys[middle];
    if (separator === undefined || middle === 0) return;
    const id = randomUUID();
    const upper: Leaf = {
      low: separator,
      keys: leaf.keys.slice(middle),
      ...(leaf.high === undefined ? {} : { high: leaf.high }),
      ...(leaf.right === undefined ? {} : { right: leaf.right }),
    };
    await kv.transact([{ op: 'save', key: leafKey(id), value: upper, options: { ifAbsent: true } }]);
    await saveLeaf(entry, { low: leaf.low, high: separator, right: id, keys: leaf.keys.slice(0, middle) });
    await recordInDirectory({ low: separator, id });
  }

  async function recordInDirectory(added: DirectoryEntry): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await kv.get(directoryKey);
      const leaves =
        entry === undefined ? [{ low: '', id: ROOT }] : decodeDirectory(entry.value, directoryKey);
      const next = [...leaves.filter((leaf) => leaf.low !== added.low), added].sort((a, b) =>
        compareKeys(a.low, b.low),
      );
      try {
        await kv.transact([
          {
            op: 'save',
            key: directoryKey,
            value: { leaves: next.map(({ low, id }) => ({ low, id })) },
            options: entry === undefined ? { ifAbsent: true } : { etag: entry.etag },
          },
        ]);
        directories.set(namespace, next);
        return;
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
      }
    }
    // Readers still find the leaf through `right`; the next split records both.
  }

  /** Applies `change` to the leaf holding `key`: `undefined` changes nothing. */
  async function updateLeafOf(key: string, change: (keys: string[]) => string[] | undefined): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await locate(key);
      const keys = change(entry.leaf.keys);
      if (keys === undefined) return;
      try {
        if (isFull(keys)) {
          await split(entry);
          continue;
        }
        await saveLeaf(entry, { ...entry.leaf, keys });
        return;
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
      }
    }
    throw new AppError(
      'DatabaseError',
      `index of ${namespace} stayed contended after ${MAX_ATTEMPTS} attempts`,
    );
  }

  function isFull(keys: readonly string[]): boolean {
    if (keys.length > maxLeafKeys) return true;
    let bytes = 0;
    for (const key of keys) bytes += Buffer.byteLength(key) + 3;
    return bytes > MAX_LEAF_BYTES && keys.length > 1;
  }

  return {
    add: (key) => updateLeafOf(key, (keys) => (keys.includes(key) ? keys : insertSorted(keys, [key]))),

    async prepareAdd(key) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const entry = await locate(key);
        const keys = entry.leaf.keys.includes(key) ? entry.leaf.keys : insertSorted(entry.leaf.keys, [key]);
        if (!isFull(keys)) return leafSave(entry, { ...entry.leaf, keys });
        try {
          await split(entry);
        } catch (error) {
          if (!isAppError(error, 'VersionConflict')) throw error;
        }
      }
      throw new AppError(
        'DatabaseError',
        `index of ${namespace} stayed contended after ${MAX_ATTEMPTS} attempts`,
      );
    },

    async addMany(keys) {
      let pending = [...new Set(keys)].sort(compareKeys);
      while (pending.length > 0) {
        const first = pending[0] as string;
        const entry = await locate(first);
        const { high } = entry.leaf;
        const mine = pending.filter((key) => high === undefined || key < high);
        const merged = insertSorted(
          entry.leaf.keys,
          mine.filter((key) => !entry.leaf.keys.includes(key)),
        );
        try {
          if (isFull(merged)) {
            await split(entry.leaf.keys.length > 1 ? entry : await withKeys(entry, merged));
            continue;
          }
          await saveLeaf(entry, { ...entry.leaf, keys: merged });
          pending = pending.slice(mine.length);
        } catch (error) {
          if (!isAppError(error, 'VersionConflict')) throw error;
        }
      }
    },

    remove: (key) =>
      updateLeafOf(key, (keys) => (keys.includes(key) ? keys.filter((k) => k !== key) : undefined)),

    async removeIf(keys, confirm) {
      const sorted = [...new Set(keys)].sort(compareKeys);
      const first = sorted[0];
      if (first === undefined) return { rest: [], removed: true };
      const entry = await locate(first);
      const { high } = entry.leaf;
      const inRange = sorted.filter((key) => high === undefined || key < high);
      const rest = sorted.slice(inRange.length);
      const present = inRange.filter((key) => entry.leaf.keys.includes(key));
      const removable = new Set(present.length === 0 ? [] : await confirm(present));
      if (removable.size === 0) return { rest, removed: true };
      try {
        await saveLeaf(entry, { ...entry.leaf, keys: entry.leaf.keys.filter((key) => !removable.has(key)) });
        return { rest, removed: true };
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
        return { rest, removed: false };
      }
    },

    async has(key) {
      return (await locate(key)).leaf.keys.includes(key);
    },

    async list({ prefix = '', after, limit = 1000 } = {}) {
      const start = after !== undefined && after > prefix ? after : prefix;
      let entry = await locate(start);
      const keys: string[] = [];
      for (;;) {
        for (const key of entry.leaf.keys) {
          if (key < start || (after !== undefined && key <= after)) continue;
          if (!key.startsWith(prefix)) return { keys };
          if (keys.length === limit) return { keys, cursor: keys[keys.length - 1] as string };
          keys.push(key);
        }
        const { high, right } = entry.leaf;
        if (high === undefined || right === undefined || !(high < prefix || high.startsWith(prefix)))
          return { keys };
        entry = await readLeaf(right);
      }
    },
  };

  async function withKeys(entry: LeafEntry, keys: string[]): Promise<LeafEntry> {
    // An empty or one-key leaf cannot split; write the merged keys first, then split.
    await saveLeaf(entry, { ...entry.leaf, keys });
    return readLeaf(entry.id);
  }
}

function startOf(directory: readonly DirectoryEntry[], key: string): string {
  let id = ROOT;
  for (const leaf of directory) {
    if (leaf.low <= key) id = leaf.id;
    else break;
  }
  return id;
}

function decodeDirectory(value: unknown, key: string): DirectoryEntry[] {
  const parsed = directorySchema.safeParse(value);
  if (!parsed.success) throw damaged(key);
  return parsed.data.leaves;
}

function damaged(key: string): AppError {
  return new AppError('DatabaseError', `record ${key} is not a valid key index record`);
}

function insertSorted(keys: readonly string[], added: readonly string[]): string[] {
  return [...keys, ...added].sort(compareKeys);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
