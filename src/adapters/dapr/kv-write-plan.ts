import type { Json } from '../../core/json.ts';
import type { DeleteOptions, SaveOptions } from '../../ports/kv-store.ts';

/**
 * How each `KvStore` write is expressed in daprd's state API for each store, so that
 * create-if-absent, compare-and-swap and unconditional saves keep the port's semantics
 * on both. Pure functions: what is sent, and what ETag the write will have.
 *
 * Redis (components-contrib state/redis/redis.go, `setDefaultQuery`): the Lua script
 * writes when the key is missing, when the ETag matches, or when the request has no ETag
 * (ARGV[1] == "0") and the key lacks the `first-write` flag; it sets that flag when the
 * request asks for `first-write` concurrency, and never clears it. So `first-write`
 * without an ETag overwrites keys written without it, and a later save without an ETag
 * fails on keys written with it. agentstate therefore never asks Redis for `first-write`:
 * - create-if-absent sends the ETag `-1`: a missing key is written (version 1), an
 *   existing one cannot have version -1 (HINCRBY counts from 1), so it fails with 409;
 * - compare-and-swap sends the ETag; the script answers HINCRBY, so the new ETag is the
 *   old one plus one, without reading the key back;
 * - an unconditional save sends no ETag and overwrites (no key ever has the flag); its
 *   new version is unknown, so the store reads the key back.
 * ETags that are not canonical versions ("0" would mean "no ETag", "abc" fails Redis'
 * Atoi with a 400) are sent as `-1`, which matches no key, as any foreign ETag should.
 *
 * PostgreSQL v1/v2 (common/component/postgresql/v1/postgresql.go, state/postgresql/v2):
 * an ETag makes the save an UPDATE of the live row with that ETag (409 when none);
 * `first-write` without an ETag is an INSERT that only replaces an expired row (500 "no
 * item was updated" when a live row exists); no ETag and no concurrency is an upsert.
 * ETags are `xmin` (v1) or `gen_random_uuid()` (v2), unknowable before the write, so
 * every save reads the key back.
 *
 * Every save sends `ttlInSeconds`: the caller's TTL, or -1 for "does not expire". Redis
 * keeps an earlier EXPIRE unless told otherwise (it runs PERSIST for TTL <= 0);
 * PostgreSQL stores NULL for any TTL <= 0 (state/utils/ttl.go accepts -1).
 */
export type StateStoreFlavour = 'redis' | 'postgresql';

/** A save as daprd's `POST /v1.0/state/{store}` and transaction `upsert` take it. */
export interface StateSaveItem {
  readonly key: string;
  readonly value: Json;
  readonly etag?: string;
  readonly options?: { readonly concurrency: 'first-write' };
  readonly metadata: { readonly ttlInSeconds: string };
}

/** A delete as daprd's transaction `delete` operation takes it. */
export interface StateDeleteItem {
  readonly key: string;
  readonly etag?: string;
}

export interface SavePlan {
  readonly item: StateSaveItem;
  /** The ETag the key has after the write, when it can be known without reading it back. */
  readonly newEtag: string | undefined;
}

/**
 * The ETag answered for a save whose own ETag could not be learnt because another write
 * replaced the value before it was read back. It matches no key on any store (not a
 * number for Redis or PostgreSQL v1, not a UUID for v2), so a CAS with it fails with
 * `VersionConflict` and the caller re-reads, which is the truth: the key has moved on.
 */
export const SUPERSEDED_ETAG = 'superseded';

/** Redis never hands out version 0 or below; `-1` is the ETag no key has. */
const REDIS_NO_MATCH_ETAG = '-1';
// Versions up to 15 digits stay exact as JavaScript numbers and within Redis' int64.
const REDIS_VERSION = /^[1-9][0-9]{0,14}$/;

export function planSave(
  flavour: StateStoreFlavour,
  key: string,
  value: Json,
  options: SaveOptions | undefined,
): SavePlan {
  const metadata = { ttlInSeconds: ttlMetadata(options?.ttlSeconds) };
  if (flavour === 'redis') {
    if (options?.ifAbsent === true)
      return { item: { key, value, etag: REDIS_NO_MATCH_ETAG, metadata }, newEtag: '1' };
    if (options?.etag !== undefined) {
      if (!REDIS_VERSION.test(options.etag))
        return { item: { key, value, etag: REDIS_NO_MATCH_ETAG, metadata }, newEtag: '1' };
      return {
        item: { key, value, etag: options.etag, metadata },
        newEtag: String(Number(options.etag) + 1),
      };
    }
    return { item: { key, value, metadata }, newEtag: undefined };
  }
  if (options?.ifAbsent === true)
    return { item: { key, value, options: { concurrency: 'first-write' }, metadata }, newEtag: undefined };
  if (options?.etag !== undefined)
    return { item: { key, value, etag: options.etag, metadata }, newEtag: undefined };
  return { item: { key, value, metadata }, newEtag: undefined };
}

export function planDelete(
  flavour: StateStoreFlavour,
  key: string,
  options: DeleteOptions | undefined,
): StateDeleteItem {
  if (options?.etag === undefined) return { key };
  // Redis deletes unconditionally for the ETag "0" (delDefaultQuery); any ETag that is
  // not a version compares unequal to "-1" just as it would to the real version.
  if (flavour === 'redis' && !REDIS_VERSION.test(options.etag)) return { key, etag: REDIS_NO_MATCH_ETAG };
  return { key, etag: options.etag };
}

function ttlMetadata(ttlSeconds: number | undefined): string {
  return ttlSeconds === undefined ? '-1' : String(ttlSeconds);
}

/**
 * Whether two JSON values are equal as JSON: objects compare by members, in any order.
 * Stores re-encode values (PostgreSQL v1 keeps `jsonb`, which reorders keys; daprd decodes
 * and re-encodes with Go), so bytes cannot be compared.
 */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i] as Json));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k] as Json, b[k] as Json));
}
