import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError, isAppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';

/**
 * The set of keys of one namespace, kept in hash buckets over a `KvStore` that offers
 * nothing but single-key compare-and-swap (DESIGN.md section 2: Dapr has no key listing).
 *
 * Records, under the namespace's prefix:
 * - `i/d`: the directory, the bit-string prefixes of the live buckets (extendible hashing);
 * - `i/b/<bits>`: a bucket, the sorted keys whose SHA-256 starts with those bits.
 *
 * Adding or removing a key is one CAS on one bucket, so a write's cost does not grow with
 * the namespace. A bucket over `maxBucketKeys` splits: it is first **sealed** by a CAS
 * (after which nobody can change it), then its two children are created from the sealed
 * keys with create-if-absent, then the directory swaps the parent for the children. Every
 * step is idempotent and anyone who meets a sealed bucket completes the split, so a crash
 * at any point leaves the index correct; a CAS on a bucket that succeeds cannot be lost
 * to a concurrent split, because sealing changes the bucket's ETag.
 *
 * Listing reads the directory and its buckets — only this namespace's records. Sealed
 * buckets are never deleted (see `completeSplit`).
 */
export interface KeyIndex {
  /** Adds `key`; adding a present key changes nothing. */
  add(key: string): Promise<void>;
  /** Removes `key`; removing an absent key changes nothing. */
  remove(key: string): Promise<void>;
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
  /** The last key of this page when more may follow. */
  readonly cursor?: string;
}

export interface KeyIndexOptions {
  /** The namespace's key prefix in the store, ending in `/`. */
  readonly namespace: string;
  /** A bucket splits when an add would take it past this many keys. @default 256 */
  readonly maxBucketKeys?: number;
}

const directorySchema = z.object({ leaves: z.array(z.string().regex(/^[01]*$/)).min(1) });
const bucketSchema = z.object({ keys: z.array(z.string()), sealed: z.literal(true).exactOptional() });
type Bucket = z.infer<typeof bucketSchema>;

// A writer that keeps losing races gives up rather than spin; callers see DatabaseError.
const MAX_ATTEMPTS = 200;

export function createKeyIndex(kv: KvStore, { namespace, maxBucketKeys = 256 }: KeyIndexOptions): KeyIndex {
  const directoryKey = `${namespace}i/d`;
  const bucketKey = (bits: string) => `${namespace}i/b/${bits === '' ? '-' : bits}`;

  async function readDirectory(): Promise<{ leaves: string[]; etag: string }> {
    const entry = await kv.get(directoryKey);
    if (entry !== undefined)
      return { leaves: decode(directorySchema, entry, directoryKey).leaves, etag: entry.etag };
    // The root bucket exists before the directory that names it.
    await createIfAbsent(bucketKey(''), { keys: [] });
    await createIfAbsent(directoryKey, { leaves: [''] });
    return readDirectory();
  }

  async function readBucket(bits: string): Promise<{ bucket: Bucket; etag: string } | undefined> {
    const entry = await kv.get(bucketKey(bits));
    return entry === undefined
      ? undefined
      : { bucket: decode(bucketSchema, entry, bucketKey(bits)), etag: entry.etag };
  }

  /** A bucket the directory names: created before the directory named it, never deleted. */
  async function readLeaf(bits: string): Promise<{ bucket: Bucket; etag: string }> {
    const current = await readBucket(bits);
    if (current === undefined) throw missingBucket();
    return current;
  }

  function missingBucket(): AppError {
    return new AppError('DatabaseError', `key index of ${namespace} names a bucket that does not exist`);
  }

  async function createIfAbsent(key: string, value: z.infer<typeof directorySchema> | Bucket): Promise<void> {
    try {
      await kv.save(key, value, { ifAbsent: true });
    } catch (error) {
      if (!isAppError(error, 'VersionConflict')) throw error;
    }
  }

  /** Finishes the split of a sealed bucket; every step may already have been done by another. */
  async function completeSplit(bits: string, sealed: Bucket): Promise<void> {
    const [zeros, ones] = partition(sealed.keys, bits.length);
    await createIfAbsent(bucketKey(`${bits}0`), { keys: zeros });
    await createIfAbsent(bucketKey(`${bits}1`), { keys: ones });
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const directory = await readDirectory();
      if (!directory.leaves.includes(bits)) break;
      const leaves = directory.leaves
        .flatMap((leaf) => (leaf === bits ? [`${bits}0`, `${bits}1`] : [leaf]))
        .sort();
      try {
        await kv.save(directoryKey, { leaves }, { etag: directory.etag });
        break;
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
      }
    }
    // The sealed bucket stays. A writer holding its ETag from before the seal must keep
    // failing its CAS: were the record deleted, Redis would take that CAS as an insert
    // (casOnMissingKey 'inserts') and the writer's key would land in a bucket no
    // directory names. A sealed bucket costs one record per split, at most one per leaf.
  }

  /** Runs `change` on the bucket that holds `key`, helping splits along the way. */
  async function updateBucketOf(
    key: string,
    change: (keys: string[]) => string[] | undefined,
  ): Promise<void> {
    const bits = hashBits(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { leaves } = await readDirectory();
      const leaf = leafFor(leaves, bits);
      const current = await readLeaf(leaf);
      if (current.bucket.sealed === true) {
        await completeSplit(leaf, current.bucket);
        continue;
      }
      const keys = change(current.bucket.keys);
      if (keys === undefined) return;
      try {
        if (keys.length > maxBucketKeys && leaf.length < 64) {
          await kv.save(bucketKey(leaf), { keys: current.bucket.keys, sealed: true }, { etag: current.etag });
          await completeSplit(leaf, current.bucket);
          continue;
        }
        await kv.save(bucketKey(leaf), { keys }, { etag: current.etag });
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

  return {
    add: (key) => updateBucketOf(key, (keys) => (keys.includes(key) ? undefined : insertSorted(keys, key))),
    remove: (key) =>
      updateBucketOf(key, (keys) => (keys.includes(key) ? keys.filter((k) => k !== key) : undefined)),

    async has(key) {
      const current = await readLeaf(leafFor((await readDirectory()).leaves, hashBits(key)));
      // A sealed bucket still holds every key it had; its children hold no others yet.
      return current.bucket.keys.includes(key);
    },

    async list({ prefix = '', after, limit = 1000 } = {}) {
      const { leaves } = await readDirectory();
      const buckets = await kv.getBulk(leaves.map(bucketKey));
      if (buckets.size < leaves.length) throw missingBucket();
      const matching = [...buckets.entries()]
        .flatMap(([key, entry]) => decode(bucketSchema, entry, key).keys)
        .filter((key) => key.startsWith(prefix) && (after === undefined || key > after))
        .sort(compareKeys);
      const keys = matching.slice(0, limit);
      const last = keys.at(-1);
      return matching.length > limit && last !== undefined ? { keys, cursor: last } : { keys };
    },
  };
}

/** The first 64 bits of the key's SHA-256, as a string of 0s and 1s. */
function hashBits(key: string): string {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return digest.readBigUInt64BE(0).toString(2).padStart(64, '0');
}

function leafFor(leaves: readonly string[], bits: string): string {
  const leaf = leaves.find((candidate) => bits.startsWith(candidate));
  if (leaf === undefined)
    throw new AppError('DatabaseError', 'key index directory does not cover every hash');
  return leaf;
}

function partition(keys: readonly string[], depth: number): [string[], string[]] {
  const zeros: string[] = [];
  const ones: string[] = [];
  for (const key of keys) (hashBits(key)[depth] === '0' ? zeros : ones).push(key);
  return [zeros, ones];
}

function insertSorted(keys: readonly string[], key: string): string[] {
  return [...keys, key].sort(compareKeys);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function decode<T>(schema: z.ZodType<T>, entry: KvEntry, key: string): T {
  const parsed = schema.safeParse(entry.value);
  if (!parsed.success) throw new AppError('DatabaseError', `record ${key} is not a valid key index record`);
  return parsed.data;
}
