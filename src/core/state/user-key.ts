import { AppError } from '../errors.ts';

/** The longest user key, in bytes of UTF-8 (README, HTTP API: Capabilities). */
export const USER_KEY_MAX_BYTES = 512;

// C0 and C1 controls and DEL: keys are shown in logs, lists and terminals.
const CONTROL_CHARACTERS = /\p{Cc}/u;

const NAMESPACE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Throws `InvalidInput` unless `key` is a user key: 1 to `USER_KEY_MAX_BYTES` bytes of
 * well-formed UTF-8 without control characters and without a `.` or `..` path segment.
 * `encodeUserKey` would keep `../x` inside its namespace anyway, but a key that reads as
 * an escape (`../x`, `%2e%2e/x`, `a/../../b`) is a caller's bug or an attack, and the
 * same key in a REST path or a snapshot file name would be resolved by the next tool
 * that handles it; refusing it is clearer than storing it. Everything else is an
 * ordinary character of an opaque key: `/`, `%`, `||`, dots inside a segment (`task.a`,
 * `.hidden`, `...`).
 */
export function assertValidUserKey(key: string, what = 'key'): void {
  if (key.length === 0) throw invalidKey(what, key, 'must not be empty');
  assertValidKeyCharacters(key, what);
  assertNoDotSegments(pathSegments(key), key, what);
}

/**
 * Like `assertValidUserKey`, but the empty string (every key) is a valid prefix, and
 * its last segment may be a bare `.` or `..`, which start keys such as `.hidden`.
 */
export function assertValidKeyPrefix(prefix: string): void {
  assertValidKeyCharacters(prefix, 'prefix');
  assertNoDotSegments(pathSegments(prefix).slice(0, -1), prefix, 'prefix');
}

// The segments a path resolver would see: `/` and `\` separate, `%2e` is a dot and
// `%2f` / `%5c` separate once something decodes the key.
function pathSegments(key: string): string[] {
  return key
    .replace(/%2e/gi, '.')
    .replace(/%2f|%5c/gi, '/')
    .split(/[/\\]/);
}

function assertNoDotSegments(segments: readonly string[], key: string, what: string): void {
  if (segments.some((segment) => segment === '.' || segment === '..'))
    throw invalidKey(what, key, "must not contain a '.' or '..' path segment");
}

function assertValidKeyCharacters(key: string, what: string): void {
  // Lone surrogates have no UTF-8 encoding, and encodeURIComponent would throw on them.
  if (!key.isWellFormed()) throw invalidKey(what, key, 'must be well-formed Unicode');
  if (Buffer.byteLength(key, 'utf8') > USER_KEY_MAX_BYTES)
    throw invalidKey(what, key, `is longer than ${USER_KEY_MAX_BYTES} bytes of UTF-8`);
  if (CONTROL_CHARACTERS.test(key)) throw invalidKey(what, key, 'must not contain control characters');
}

/**
 * A user key as one segment of a store key. `encodeURIComponent` leaves no `/` (so the
 * key cannot leave its namespace or name another record type), no `|` (so no `||`,
 * which Dapr reserves) and no control characters; it is injective, so two user keys
 * never share a store key.
 */
export function encodeUserKey(key: string): string {
  return encodeURIComponent(key);
}

/** Throws `InvalidInput` unless `id` can name a tenant or an agent in store keys. */
export function assertValidNamespaceId(what: 'tenant' | 'agent', id: string): void {
  if (!NAMESPACE_ID.test(id))
    throw new AppError(
      'InvalidInput',
      `${what} id ${JSON.stringify(id.slice(0, 80))} must match ${NAMESPACE_ID.source}`,
    );
}

function invalidKey(what: string, key: string, reason: string): AppError {
  return new AppError('InvalidInput', `${what} ${JSON.stringify(key.slice(0, 80))} ${reason}`);
}
