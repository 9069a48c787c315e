import { createHash, type Hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AppError } from '../core/errors.ts';

/**
 * The checksum of a portable document: SHA-256 over the RFC 8785 (JCS) canonical
 * encoding of the document without its `checksum` field, written `sha256:<hex>`. JCS
 * makes the digest independent of key order, whitespace and number spelling, so a file
 * re-indented by a person still verifies, while any change of a value does not.
 *
 * The encoding is hashed a top-level field at a time, and an array field an element at
 * a time, so that no document is ever held as one canonical string beside its value:
 * the same bytes `canonicalize(document)` would give, in pieces.
 */
export function checksumOf(document: Readonly<Record<string, unknown>>): string {
  const hash = createHash('sha256');
  for (const piece of canonicalPieces(document)) hash.update(piece, 'utf8');
  return digestOf(hash);
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

/**
 * A document written as it is produced, with its checksum: `fields` are its values,
 * where an `AsyncIterable` field is an array given a page of elements at a time. The
 * text is the canonical encoding with `"checksum"` added last, so memory holds one page,
 * never the document. A failing page ends the iteration with its error, the text cut
 * short (a reader sees invalid JSON, never a complete-looking document).
 */
export async function* streamWithChecksum(
  fields: Readonly<Record<string, unknown>>,
): AsyncGenerator<string, void, undefined> {
  const hash = createHash('sha256');
  const emit = (piece: string) => {
    hash.update(piece, 'utf8');
    return piece;
  };
  let first = true;
  for (const name of Object.keys(fields)
    .filter((n) => n !== 'checksum')
    .sort()) {
    const value = fields[name];
    yield emit(`${first ? '{' : ','}${JSON.stringify(name)}:`);
    first = false;
    if (!isAsyncIterable(value)) {
      yield emit(encode(value));
      continue;
    }
    let count = 0;
    yield emit('[');
    for await (const page of value as AsyncIterable<readonly unknown[]>) {
      let text = '';
      for (const element of page) text += `${count++ === 0 ? '' : ','}${encode(element)}`;
      yield emit(text);
    }
    yield emit(']');
  }
  hash.update(first ? '{}' : '}', 'utf8');
  yield `${first ? '{' : ','}"checksum":${JSON.stringify(digestOf(hash))}}`;
}

function* canonicalPieces(document: Readonly<Record<string, unknown>>): Generator<string> {
  let first = true;
  for (const name of Object.keys(document)
    .filter((n) => n !== 'checksum')
    .sort()) {
    const value = document[name];
    if (value === undefined) continue;
    yield `${first ? '{' : ','}${JSON.stringify(name)}:`;
    first = false;
    if (Array.isArray(value)) {
      yield '[';
      for (let i = 0; i < value.length; i++) yield `${i === 0 ? '' : ','}${encode(value[i])}`;
      yield ']';
    } else yield encode(value);
  }
  yield first ? '{}' : '}';
}

function encode(value: unknown): string {
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new AppError('InvalidInput', 'the document has no JSON encoding');
  return canonical;
}

function digestOf(hash: Hash): string {
  return `sha256:${hash.digest('hex')}`;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
