import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEntry, folderNames } from './blob-path.ts';
import { errnoCode } from './translate-fs-error.ts';

/**
 * Every key under `root` that starts with `prefix` and sorts after `after` (when
 * given), in ascending UTF-8 byte order. Temporary files are never answered.
 *
 * The walk starts at the deepest folder the prefix names and skips folders whose keys
 * all sort before `after`, so later pages do not reread what earlier ones answered.
 * Folder order is not key order (chunked segments interleave), so the keys after the
 * cursor are collected and sorted: a page costs the keys that follow it, which suits a
 * single node's snapshots and backups but not millions of keys under one prefix.
 */
export async function listKeys(root: string, prefix: string, after: string | undefined): Promise<string[]> {
  const complete = prefix.split('/').slice(0, -1);
  const start = join(root, ...complete.flatMap(folderNames));
  const keys: string[] = [];
  await collect(start, complete.map((segment) => `${segment}/`).join(''), { prefix, after }, keys);
  return keys.sort(compareBytes);
}

/** Orders strings as their UTF-8 bytes do (JavaScript's `<` compares UTF-16 units). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Wanted {
  readonly prefix: string;
  readonly after: string | undefined;
}

async function collect(folder: string, keyPrefix: string, wanted: Wanted, keys: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    // A folder that is missing, or was pruned by a concurrent delete, holds no keys.
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
    throw error;
  }
  for (const entry of entries) {
    const decoded = decodeEntry(entry.name, entry.isFile(), entry.isDirectory());
    if (decoded === undefined) continue;
    if (decoded.kind === 'object') {
      const key = keyPrefix + decoded.text;
      if (
        key.startsWith(wanted.prefix) &&
        (wanted.after === undefined || compareBytes(key, wanted.after) > 0)
      )
        keys.push(key);
      continue;
    }
    const below = keyPrefix + decoded.text + (decoded.kind === 'folder' ? '/' : '');
    if (!below.startsWith(wanted.prefix) && !wanted.prefix.startsWith(below)) continue;
    if (wanted.after !== undefined && allBefore(below, wanted.after)) continue;
    await collect(join(folder, entry.name), below, wanted, keys);
  }
}

/** Whether every key that starts with `start` sorts at or before `after`. */
function allBefore(start: string, after: string): boolean {
  return compareBytes(start, after) < 0 && !after.startsWith(start);
}
