import { z } from 'zod';
import { AppError } from '../../core/errors.ts';

// Listing for the blob bindings, which cannot page the way the port does:
// bindings.localstorage answers every file below a folder as absolute paths, in walk
// order; bindings.azure.blobstorage answers a marker that is the request's own marker,
// not the next one (it copies `resp.Marker`, not `resp.NextMarker`, in
// components-contrib bindings/azure/blobstorage/blobstorage.go `list`; also
// components-contrib#3010), so a second page repeats the first. Both flavours therefore
// page by key: the cursor names the last key answered, and the next page is the keys
// after it in UTF-8 byte order.

/** Prefix of the objects `init()` writes and deletes to learn how a binding behaves. */
export const PROBE_PREFIX = '.agentstate-probe/';

/** What a cursor carries: the last key answered and how many keys sorted up to it then. */
export interface ListPosition {
  readonly after: string;
  /** Keys under the prefix up to `after` when it was answered: where the next scan can start counting. */
  readonly seen: number;
}

const cursorSchema = z.object({ a: z.string(), n: z.number().int().nonnegative() });

/** An opaque cursor for `position`. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify({ a: position.after, n: position.seen })).toString('base64url');
}

/** The position in `cursor`; `InvalidInput` when it is not a cursor this adapter made. */
export function decodeCursor(cursor: string): ListPosition {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { after: parsed.a, seen: parsed.n };
  } catch (error) {
    throw new AppError('InvalidInput', 'list cursor is not one this blob store answered', { cause: error });
  }
}

/** Orders strings as their UTF-8 bytes do (JavaScript's `<` compares UTF-16 units). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The keys of one scan that belong on a page: under `prefix`, after `after`, not a
 * probe, sorted by bytes. Answers them with how many keys of the scan sorted at or
 * before `after`, for the next cursor's `seen`.
 */
export function keysAfter(
  scanned: Iterable<string>,
  prefix: string,
  after: string | undefined,
): { keys: string[]; before: number } {
  const keys: string[] = [];
  let before = 0;
  for (const key of scanned) {
    if (!key.startsWith(prefix) || key.startsWith(PROBE_PREFIX)) continue;
    if (after !== undefined && compareBytes(key, after) <= 0) before++;
    else keys.push(key);
  }
  return { keys: keys.sort(compareBytes), before };
}

/**
 * The folder a localstorage `list` must walk to see every key under `prefix`: the
 * prefix up to its last `/` (the root for a prefix without one).
 */
export function folderOfPrefix(prefix: string): string {
  const slash = prefix.lastIndexOf('/');
  return slash < 0 ? '' : prefix.slice(0, slash);
}

/**
 * Turns the absolute paths bindings.localstorage lists (`filepath.Walk` below its
 * rootPath) into keys; paths outside `root` are ignored.
 */
export function keysOfPaths(paths: readonly string[], root: string): string[] {
  const base = root.endsWith('/') ? root : `${root}/`;
  return paths.filter((path) => path.startsWith(base)).map((path) => path.slice(base.length));
}
