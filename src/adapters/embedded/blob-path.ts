// How a blob key becomes a path below the folder store's root, and back.
//
// Keys map to nested folders, one per `/`-separated segment, so the tree stays readable
// (`snapshots/s1/latest.json` is `snapshots/s1/latest.json=`). Three rules make every
// valid key storable and keep any two keys apart:
// - An object's file name ends with `=`; folder names never do. So `a` and `a/b` can
//   both exist (file `a=` beside folder `a`), as they can in an object store.
// - A segment longer than one file name allows (255 bytes on common file systems; keys
//   may be 1024) is split into chunks, every chunk but the last in a folder ending `+`.
// - `%`, `=` and `+` are percent-encoded, and so is a leading `.`: names starting with
//   `.` are temporary files, which no key can reach and listings skip.
// Not handled: case-insensitive file systems (macOS, Windows) merge keys that differ
// only in case. The embedded store targets Linux containers and development machines.

const OBJECT_SUFFIX = '=';
const CONTINUED_SUFFIX = '+';
/** Bytes of one encoded chunk, leaving room for the suffix under the 255-byte limit. */
const MAX_CHUNK_BYTES = 240;

/** The file names from the root to the object stored under `key` (a valid blob key). */
export function objectPathNames(key: string): string[] {
  const segments = key.split('/');
  const last = segments.pop() ?? '';
  const chunks = encodeChunks(last);
  return [
    ...segments.flatMap(folderNames),
    ...chunks.map((chunk, i) => chunk + (i < chunks.length - 1 ? CONTINUED_SUFFIX : OBJECT_SUFFIX)),
  ];
}

/** The folder names from the root to the folder that holds keys starting `segment/`. */
export function folderNames(segment: string): string[] {
  const chunks = encodeChunks(segment);
  return chunks.map((chunk, i) => (i < chunks.length - 1 ? chunk + CONTINUED_SUFFIX : chunk));
}

/** Temporary files start with `.`, which no encoded name does. */
export function temporaryName(id: string): string {
  return `.${id}.tmp`;
}

export type DecodedEntry =
  | { readonly kind: 'object'; readonly text: string }
  | { readonly kind: 'folder'; readonly text: string }
  | { readonly kind: 'continued'; readonly text: string };

/**
 * What a directory entry stands for, or `undefined` for entries the store did not name
 * (temporary files, anything else found in the folder).
 */
export function decodeEntry(name: string, isFile: boolean, isDirectory: boolean): DecodedEntry | undefined {
  if (name.startsWith('.')) return undefined;
  if (isFile && name.endsWith(OBJECT_SUFFIX)) return decoded('object', name.slice(0, -1));
  if (!isDirectory) return undefined;
  if (name.endsWith(CONTINUED_SUFFIX)) return decoded('continued', name.slice(0, -1));
  return decoded('folder', name);
}

function decoded(kind: DecodedEntry['kind'], encoded: string): DecodedEntry | undefined {
  try {
    return { kind, text: decodeURIComponent(encoded) };
  } catch {
    return undefined; // not a name this store wrote
  }
}

function encodeChunks(segment: string): string[] {
  const chunks: string[] = [];
  let chunk = '';
  let bytes = 0;
  for (const character of segment) {
    let encoded = encodeCharacter(character, chunk === '');
    if (bytes + Buffer.byteLength(encoded, 'utf8') > MAX_CHUNK_BYTES) {
      chunks.push(chunk);
      chunk = '';
      bytes = 0;
      encoded = encodeCharacter(character, true);
    }
    chunk += encoded;
    bytes += Buffer.byteLength(encoded, 'utf8');
  }
  chunks.push(chunk);
  return chunks;
}

function encodeCharacter(character: string, atStart: boolean): string {
  if (character === '%' || character === '=' || character === '+' || (atStart && character === '.')) {
    return `%${character.charCodeAt(0).toString(16).toUpperCase()}`;
  }
  return character;
}
