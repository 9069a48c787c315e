import { z } from 'zod';
import { AppError } from '../core/errors.ts';

// The cursor of a large-object listing. Parts sit between manifests in the blob
// listing, so a page of objects may end in the middle of a page of blobs; the cursor
// keeps the blob store's own (opaque) cursor to that page and the last object answered.

export interface ObjectListPosition {
  /** The blob store's cursor to the page being read; undefined for its first page. */
  readonly blobCursor: string | undefined;
  /** The last object key answered; the listing resumes after it. */
  readonly after: string | undefined;
}

const positionSchema = z.object({ c: z.string().optional(), a: z.string().optional() });

export function encodeListCursor(position: ObjectListPosition): string {
  // JSON.stringify leaves out the fields that are undefined.
  return Buffer.from(JSON.stringify({ c: position.blobCursor, a: position.after }), 'utf8').toString(
    'base64url',
  );
}

/** Decodes a cursor a caller sent back; anything this module did not write is `InvalidInput`. */
export function decodeListCursor(cursor: string): ObjectListPosition {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const result = positionSchema.safeParse(json);
  if (!result.success)
    throw new AppError('InvalidInput', 'the listing cursor is not one this service issued');
  return { blobCursor: result.data.c, after: result.data.a };
}

/** Orders strings as their UTF-8 bytes do, which is the order blob listings use. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
