import { DEFAULT_MAX_OBJECT_BYTES } from '../../ports/limits.ts';
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  assertObjectFits,
  assertValidBlobKey,
  assertValidBlobPrefix,
  listLimit,
} from '../../ports/blob-validation.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import { objectPathNames, temporaryName } from './blob-path.ts';
import { listKeys } from './folder-listing.ts';
import { errnoCode, translateFsError } from './translate-fs-error.ts';

export interface FolderBlobStoreOptions {
  /** The folder that holds the objects; created by `init()`. */
  readonly root: string;
  /**
   * The largest object `put` accepts. A folder has no request limit, but keeping the
   * sidecar's order of magnitude means large objects take the same path (parts and a
   * manifest) on `npm start` as in production. @default 3 MiB
   */
  readonly maxObjectBytes?: number;
}

/**
 * A concurrent delete may prune the folder a put just created; that many tries beat it.
 * The prune shows as ENOENT, or as ENOTDIR when it lands inside `mkdir -p`'s own
 * exists-then-stat check (libuv answers ENOTDIR when the stat after EEXIST fails).
 */
const PUT_ATTEMPTS = 5;

/**
 * A `BlobStore` over a folder: one file per object (see `blob-path.ts` for the
 * layout). `put` writes a temporary file in the object's folder, fsyncs it and renames
 * it over the object, so a reader sees the old or the new bytes, never a torn file,
 * even across a crash. `delete` removes folders it leaves empty.
 */
export function createFolderBlobStore(options: FolderBlobStoreOptions): BlobStore {
  const { maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES } = options;
  // Absolute and normalised, so tidying empty folders stops exactly at the root.
  const root = resolve(options.root);
  const fileOf = (key: string) => join(root, ...objectPathNames(key));

  return {
    name: 'embedded-folder',
    limits: { maxObjectBytes },

    async init() {
      try {
        await mkdir(root, { recursive: true });
      } catch (error) {
        translateFsError(error, 'init', root);
      }
    },

    async close() {
      // Nothing is held open between calls.
    },

    async put(key, data) {
      assertValidBlobKey(key);
      assertObjectFits(data, maxObjectBytes);
      const file = fileOf(key);
      for (let attempt = 1; ; attempt++) {
        try {
          await mkdir(dirname(file), { recursive: true });
          await replaceFile(file, data);
          return;
        } catch (error) {
          if (isAbsent(error) && attempt < PUT_ATTEMPTS) continue;
          translateFsError(error, 'put', key);
        }
      }
    },

    async get(key) {
      assertValidBlobKey(key);
      try {
        return new Uint8Array(await readFile(fileOf(key)));
      } catch (error) {
        if (isAbsent(error)) return undefined;
        translateFsError(error, 'get', key);
      }
    },

    async list(prefix, page = {}) {
      assertValidBlobPrefix(prefix);
      const limit = listLimit(page);
      let keys: string[];
      try {
        keys = await listKeys(root, prefix, page.cursor);
      } catch (error) {
        translateFsError(error, 'list', prefix);
      }
      const answered = keys.slice(0, limit);
      // The cursor is the last key answered: the next page starts after it, whatever
      // was written or deleted in between.
      return keys.length > limit ? { keys: answered, cursor: answered.at(-1)! } : { keys: answered };
    },

    async delete(key) {
      assertValidBlobKey(key);
      const file = fileOf(key);
      try {
        await unlink(file);
      } catch (error) {
        if (isAbsent(error)) return false;
        translateFsError(error, 'delete', key);
      }
      await removeEmptyFolders(dirname(file), root);
      return true;
    },
  };
}

async function replaceFile(file: string, data: Uint8Array): Promise<void> {
  const folder = dirname(file);
  const temporary = join(folder, temporaryName(randomUUID()));
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  // The rename is durable only once the folder's entry list is on disk.
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes `folder` and its parents up to `root` while they are empty. */
async function removeEmptyFolders(folder: string, root: string): Promise<void> {
  for (let current = folder; current !== root && current.startsWith(root); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      // Not empty (another object, or a put in progress), or already gone: either way
      // the object is deleted, and tidying stops here.
      return;
    }
  }
}

function isAbsent(error: unknown): boolean {
  // ENOTDIR: a folder on the path is a file, so the object cannot exist either.
  return errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR';
}
