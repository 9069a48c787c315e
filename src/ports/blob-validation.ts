import { AppError } from '../core/errors.ts';
import type { ListPage } from './blob-store.ts';

// Shared by every BlobStore adapter so that the same bad key fails with the same code
// everywhere, before it reaches a file system, a binding or a container.

export const BLOB_MAX_KEY_BYTES = 1024;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Throws `InvalidInput` unless `key` is a blob key as `BlobStore` defines it: 1 to
 * `BLOB_MAX_KEY_BYTES` bytes of UTF-8, `/`-separated segments none of which is empty,
 * `.` or `..` (so no leading or trailing `/` and no `//`), no backslash (a separator on
 * Windows) and no control characters. Such a key maps to a relative path that stays
 * below its root on every file system and object store.
 */
export function assertValidBlobKey(key: string): void {
  if (key.length === 0) throw invalid('key', key, 'must not be empty');
  assertValidPath('key', key, key.split('/'));
}

/**
 * Throws `InvalidInput` unless some valid key starts with `prefix`. The empty prefix
 * (everything) is valid; the last segment may be incomplete, so `a/` and `a/.` are
 * valid prefixes while `a//` and `../` are not.
 */
export function assertValidBlobPrefix(prefix: string): void {
  const segments = prefix.split('/');
  // The last segment can still be extended into a valid one, whatever it is so far.
  assertValidPath('prefix', prefix, segments.slice(0, -1));
}

function assertValidPath(what: string, path: string, completeSegments: readonly string[]): void {
  if (Buffer.byteLength(path, 'utf8') > BLOB_MAX_KEY_BYTES)
    throw invalid(what, path, `is longer than ${BLOB_MAX_KEY_BYTES} bytes`);
  if (!path.isWellFormed()) throw invalid(what, path, 'must be well-formed UTF-16');
  if (CONTROL_CHARACTERS.test(path)) throw invalid(what, path, 'must not contain control characters');
  if (path.includes('\\')) throw invalid(what, path, 'must not contain a backslash');
  for (const segment of completeSegments) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw invalid(what, path, 'must not start or end with "/" or contain an empty, "." or ".." segment');
    }
  }
}

function invalid(what: string, path: string, reason: string): AppError {
  return new AppError('InvalidInput', `blob ${what} ${JSON.stringify(path.slice(0, 80))} ${reason}`);
}

/** Refuses an object over the store's limit with the same error on every adapter. */
export function assertObjectFits(data: Uint8Array, maxObjectBytes: number): void {
  if (data.byteLength > maxObjectBytes) {
    throw new AppError(
      'PayloadTooLarge',
      `object is ${data.byteLength} bytes; the limit is ${maxObjectBytes}`,
      {
        details: { size_bytes: data.byteLength, limit_bytes: maxObjectBytes },
      },
    );
  }
}

/** The page size a listing asks for: `page.limit`, by default 1000, a positive whole number. */
export function listLimit(page: ListPage): number {
  const limit = page.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new AppError('InvalidInput', `list limit must be a positive whole number, not ${limit}`);
  }
  return limit;
}
