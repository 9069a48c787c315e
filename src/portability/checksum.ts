import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AppError } from '../core/errors.ts';

/**
 * The checksum of a portable document: SHA-256 over the RFC 8785 (JCS) canonical
 * encoding of the document without its `checksum` field, written `sha256:<hex>`. JCS
 * makes the digest independent of key order, whitespace and number spelling, so a file
 * re-indented by a person still verifies, while any change of a value does not.
 */
export function checksumOf(document: Readonly<Record<string, unknown>>): string {
  const content = Object.fromEntries(Object.entries(document).filter(([name]) => name !== 'checksum'));
  const canonical = canonicalize(content);
  if (canonical === undefined) throw new AppError('InvalidInput', 'the document has no JSON encoding');
  return `sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

/** `document` with its checksum set as the last field. */
export function withChecksum<T extends Record<string, unknown>>(document: T): T & { checksum: string } {
  return { ...document, checksum: checksumOf(document) };
}

/** Throws `ChecksumMismatch` unless `document.checksum` is the checksum of the rest. */
export function assertChecksum(document: Readonly<Record<string, unknown>>, what: string): void {
  const stated = document['checksum'];
  if (typeof stated !== 'string')
    throw new AppError('ChecksumMismatch', `the ${what} has no checksum: it cannot be verified`);
  const actual = checksumOf(document);
  if (stated !== actual)
    throw new AppError(
      'ChecksumMismatch',
      `the ${what} does not match its checksum: it was changed or damaged after export`,
      { details: { stated, actual } },
    );
}
