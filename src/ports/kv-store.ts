import type { Json } from '../core/json.ts';

/**
 * A key-value store with per-key compare-and-swap: the only primitive agentstate's
 * consistency rests on, because Dapr state stores offer no key listing and not every
 * one rolls back a failed multi-key transaction (README, Storage semantics).
 *
 * Semantics every adapter keeps (checked by `kvStoreConformance`):
 * - Keys are non-empty UTF-8 strings of at most `KV_MAX_KEY_BYTES` bytes that do not
 *   contain `||` (Dapr reserves it) or control characters; any other key is rejected
 *   with `InvalidInput` before anything is written. Keys are opaque: `/` and `..` carry
 *   no meaning here.
 * - Values are JSON. A value whose JSON encoding exceeds `limits.maxValueBytes` is
 *   rejected with `PayloadTooLarge` and nothing is written.
 * - ETags are opaque strings. A save or delete that carries one succeeds only if the key
 *   currently has that ETag; otherwise it fails with `VersionConflict`. An adapter may
 *   hand out an ETag again after the key was deleted and re-created (Redis restarts at
 *   1), so callers must not treat an ETag as unique across deletions.
 * - What a save or delete carrying an ETag does to a key that does not exist differs by
 *   store and is declared in `traits.casOnMissingKey`.
 * - `ifAbsent` creates the key only if it does not exist; if it does, `VersionConflict`.
 *   Sixteen concurrent creators of one key: exactly one succeeds.
 * - Every save sets the key's expiry: `ttlSeconds` makes it expire that many seconds
 *   later; without it the key does not expire. An expired key reads as absent.
 * - Absence is `undefined`, never `""` or `null`.
 * - Store failures are `DatabaseError`; an unreachable store or sidecar is `Unavailable`.
 *
 * Left out on purpose: key listing and scans (Dapr has none; agentstate keeps its own
 * index pages), queries, and cross-key atomicity beyond what `traits` declares.
 */
export interface KvStore {
  readonly traits: KvStoreTraits;
  readonly limits: KvStoreLimits;

  /** Connects and checks the store answers. Called once before any other method. */
  init(): Promise<void>;
  /** Releases connections. The store is unusable afterwards. */
  close(): Promise<void>;

  /** The value and ETag of `key`, or `undefined` if it does not exist or has expired. */
  get(key: string): Promise<KvEntry | undefined>;
  /**
   * The entries of `keys`, in a map that has no entry for keys that do not exist.
   * One round trip where the store allows it.
   */
  getBulk(keys: readonly string[]): Promise<Map<string, KvEntry>>;
  /** Writes `value` under `key` under the given condition; answers the new ETag. */
  save(key: string, value: Json, options?: SaveOptions): Promise<string>;
  /**
   * Deletes `key`. With an ETag, only if the key has it (`VersionConflict` otherwise).
   * Deleting a key that does not exist without an ETag succeeds.
   */
  delete(key: string, options?: DeleteOptions): Promise<void>;
  /**
   * Applies several operations in one request. If `traits.atomicTransactions` is true,
   * either all of them apply or none; if false, a failed condition in one operation
   * does not stop the others (Redis MULTI/EXEC has no rollback), and the call still
   * fails with the error of the failed operation. Callers that must be correct on every
   * store commit with one single-key CAS and treat transactions as an optimisation.
   */
  transact(operations: readonly KvOperation[]): Promise<void>;
}

export const KV_MAX_KEY_BYTES = 4096;

export interface KvStoreTraits {
  /** Adapter name as the conformance output and `/readyz` show it, e.g. `dapr-redis`. */
  readonly name: string;
  /** Whether `transact` is all-or-nothing. */
  readonly atomicTransactions: boolean;
  /**
   * What an operation carrying an ETag does when the key does not exist: `conflicts`
   * fails with `VersionConflict` (PostgreSQL, embedded); `inserts` lets it through, so a
   * save writes the key and a delete succeeds (Redis).
   */
  readonly casOnMissingKey: 'conflicts' | 'inserts';
}

export interface KvStoreLimits {
  /** Largest JSON encoding of a value, in bytes, that a save accepts. */
  readonly maxValueBytes: number;
}

export interface KvEntry {
  readonly value: Json;
  readonly etag: string;
}

export type SaveOptions =
  | { readonly etag: string; readonly ifAbsent?: never; readonly ttlSeconds?: number }
  | { readonly ifAbsent: true; readonly etag?: never; readonly ttlSeconds?: number }
  | { readonly etag?: never; readonly ifAbsent?: never; readonly ttlSeconds?: number };

export interface DeleteOptions {
  readonly etag?: string;
}

export type KvOperation =
  | { readonly op: 'save'; readonly key: string; readonly value: Json; readonly options?: SaveOptions }
  | { readonly op: 'delete'; readonly key: string; readonly options?: DeleteOptions };
