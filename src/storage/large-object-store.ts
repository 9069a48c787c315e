import { createHash, randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../core/errors.ts';
import type { BlobStore, ListPage } from '../ports/blob-store.ts';
import { fixedSizeParts } from './fixed-size-parts.ts';
import {
  compareBytes,
  decodeListCursor,
  encodeListCursor,
  type ObjectListPosition,
} from './object-list-cursor.ts';
import {
  OBJECT_MANIFEST_FORMAT,
  assertValidObjectKey,
  decodeManifest,
  encodeManifest,
  isPartKey,
  partKey,
  type ObjectManifest,
  type ObjectPart,
} from './object-manifest.ts';

export type { ObjectManifest, ObjectPart } from './object-manifest.ts';

export interface LargeObjectStoreOptions {
  /** Bytes per part, at most the blob store's `limits.maxObjectBytes`. @default that limit */
  readonly partBytes?: number;
  /**
   * Told about parts that could not be removed after a delete or a rewrite. Such parts
   * are harmless (no manifest names them, listings skip them) but take space.
   * @default ignore them
   */
  readonly onCleanupError?: (error: unknown, partKeys: readonly string[]) => void;
}

/** Objects of any size over a `BlobStore` whose objects are limited in size. */
export interface LargeObjectStore {
  /**
   * Stores `source` under `key` as parts, then the manifest. Until the manifest is
   * written the object does not exist for `stat`, `read` and `list`; a rewrite shows
   * the old object until then, and removes the old parts after. If `source` or a part
   * fails, the parts written so far are removed and the error is rethrown unchanged.
   * An object of more parts than one manifest can list is `PayloadTooLarge`.
   */
  write(key: string, source: AsyncIterable<Uint8Array> | Uint8Array): Promise<ObjectManifest>;
  /**
   * Streams the object part by part, holding one part in memory, each checked against
   * the manifest before it is yielded. Fails when iterated: `KeyNotFound` if there is no
   * object; `ChecksumMismatch` if a part is missing, of the wrong size or checksum;
   * `VersionConflict` if the object was rewritten or deleted while being read.
   */
  read(key: string): AsyncIterable<Uint8Array>;
  /** The manifest of a complete object, or `undefined`. */
  stat(key: string): Promise<ObjectManifest | undefined>;
  /** Complete objects whose keys start with `prefix`, in ascending byte order of keys. */
  list(prefix: string, page?: ListPage): Promise<{ items: ObjectManifest[]; cursor?: string }>;
  /** Removes the manifest, then the parts; answers whether there was an object. */
  delete(key: string): Promise<boolean>;
}

const DEFAULT_PAGE_LIMIT = 1000;
/** Blob keys read per listing call at least, since parts sit among the manifests. */
const MIN_BLOB_PAGE = 100;
const CONCURRENT_READS = 16;
const LIST_START: ObjectListPosition = { blobCursor: undefined, after: undefined };

/**
 * The one implementation of large objects (snapshots, backups) over any `BlobStore`.
 * Layout: parts at `<key>.parts/<writeId>/<00000>`, with a fresh random `writeId` per
 * write so a rewrite never mixes with the parts it replaces, and the manifest
 * (`object-manifest.ts`) at `<key>`, written last: the commit point.
 */
export function createLargeObjectStore(
  blobs: BlobStore,
  options: LargeObjectStoreOptions = {},
): LargeObjectStore {
  const { partBytes = blobs.limits.maxObjectBytes, onCleanupError = () => undefined } = options;
  if (!Number.isSafeInteger(partBytes) || partBytes < 1 || partBytes > blobs.limits.maxObjectBytes) {
    throw new AppError(
      'InvalidInput',
      `partBytes must be a whole number from 1 to ${blobs.limits.maxObjectBytes}, not ${partBytes}`,
    );
  }

  async function stat(key: string): Promise<ObjectManifest | undefined> {
    assertValidObjectKey(key);
    return readManifest(key);
  }

  async function readManifest(key: string): Promise<ObjectManifest | undefined> {
    const bytes = await blobs.get(key);
    return bytes === undefined ? undefined : decodeManifest(key, bytes);
  }

  /** The manifests of `keys`, a few reads at a time; objects deleted since they were listed are left out. */
  async function readManifests(keys: readonly string[]): Promise<ObjectManifest[]> {
    const manifests: ObjectManifest[] = [];
    for (let start = 0; start < keys.length; start += CONCURRENT_READS) {
      const batch = await Promise.all(keys.slice(start, start + CONCURRENT_READS).map(readManifest));
      manifests.push(...batch.filter((manifest) => manifest !== undefined));
    }
    return manifests;
  }

  /** Removes parts no manifest names any more; never fails the operation that replaced them. */
  async function removeParts(parts: readonly ObjectPart[]): Promise<void> {
    const failed: string[] = [];
    let lastError: unknown;
    for (const part of parts) {
      try {
        await blobs.delete(part.key);
      } catch (error) {
        failed.push(part.key);
        lastError = error;
      }
    }
    if (failed.length > 0) onCleanupError(lastError, failed);
  }

  async function* read(key: string): AsyncGenerator<Uint8Array> {
    const manifest = await stat(key);
    if (manifest === undefined)
      throw new AppError('KeyNotFound', `there is no object ${JSON.stringify(key)}`);
    const whole = createHash('sha256');
    for (const part of manifest.parts) {
      const bytes = await blobs.get(part.key);
      if (bytes === undefined) throw await explainMissingPart(manifest, part);
      if (bytes.byteLength !== part.size || sha256(bytes) !== part.sha256) {
        throw new AppError(
          'ChecksumMismatch',
          `part ${part.key} does not match the manifest of ${JSON.stringify(key)}`,
        );
      }
      whole.update(bytes);
      yield bytes;
    }
    if (whole.digest('hex') !== manifest.sha256) {
      throw new AppError(
        'ChecksumMismatch',
        `object ${JSON.stringify(key)} does not match its manifest's checksum`,
      );
    }
  }

  /** A part missing under a live manifest is damage; under a replaced one, a race the caller can retry. */
  async function explainMissingPart(manifest: ObjectManifest, part: ObjectPart): Promise<AppError> {
    const current = await stat(manifest.key).catch(() => undefined);
    if (current?.write_id !== manifest.write_id) {
      return new AppError(
        'VersionConflict',
        `object ${JSON.stringify(manifest.key)} was replaced or deleted while being read`,
      );
    }
    return new AppError(
      'ChecksumMismatch',
      `part ${part.key} of object ${JSON.stringify(manifest.key)} is missing`,
    );
  }

  return {
    async write(key, source) {
      assertValidObjectKey(key);
      const previous = await stat(key).catch((error: unknown) => {
        // A damaged manifest is replaced like any other; only its parts cannot be found.
        if (isAppError(error, 'ChecksumMismatch') || isAppError(error, 'IncompatibleVersion'))
          return undefined;
        throw error;
      });
      const writeId = randomUUID();
      const whole = createHash('sha256');
      const parts: ObjectPart[] = [];
      try {
        for await (const bytes of fixedSizeParts(source, partBytes)) {
          const part = {
            key: partKey(key, writeId, parts.length),
            size: bytes.byteLength,
            sha256: sha256(bytes),
          };
          await blobs.put(part.key, bytes);
          parts.push(part);
          whole.update(bytes);
        }
      } catch (error) {
        await removeParts(parts);
        throw error;
      }
      const manifest: ObjectManifest = {
        format: OBJECT_MANIFEST_FORMAT,
        key,
        size: parts.reduce((sum, part) => sum + part.size, 0),
        sha256: whole.digest('hex'),
        parts,
        created_at: new Date().toISOString(),
        write_id: writeId,
      };
      const encoded = encodeManifest(manifest);
      if (encoded.byteLength > blobs.limits.maxObjectBytes) {
        await removeParts(parts);
        throw new AppError(
          'PayloadTooLarge',
          `object ${JSON.stringify(key)} needs ${parts.length} parts, too many for one manifest; write it with larger parts`,
        );
      }
      // If this put fails the parts stay: on a remote store the manifest may have been
      // written after all, and orphaned parts are harmless where missing ones are not.
      await blobs.put(key, encoded);
      if (previous !== undefined) await removeParts(previous.parts);
      return manifest;
    },

    read,
    stat,

    async list(prefix, page = {}) {
      const limit = page.limit ?? DEFAULT_PAGE_LIMIT;
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new AppError('InvalidInput', `list limit must be a positive whole number, not ${limit}`);
      }
      let { blobCursor, after } = page.cursor === undefined ? LIST_START : decodeListCursor(page.cursor);
      const items: ObjectManifest[] = [];
      for (;;) {
        const listing = await blobs.list(prefix, {
          limit: Math.max(limit, MIN_BLOB_PAGE),
          ...(blobCursor === undefined ? {} : { cursor: blobCursor }),
        });
        const candidates = listing.keys.filter(
          (key) => !isPartKey(key) && (after === undefined || compareBytes(key, after) > 0),
        );
        const room = limit - items.length;
        const taken = candidates.slice(0, room);
        items.push(...(await readManifests(taken)));
        after = taken.at(-1) ?? after;
        // Full in the middle of this blob page: the next page reads it again, after `after`.
        if (candidates.length > room) return { items, cursor: encodeListCursor({ blobCursor, after }) };
        if (listing.cursor === undefined) return { items };
        blobCursor = listing.cursor;
        if (items.length === limit) return { items, cursor: encodeListCursor({ blobCursor, after }) };
      }
    },

    async delete(key) {
      assertValidObjectKey(key);
      const bytes = await blobs.get(key);
      if (bytes === undefined) return false;
      let parts: readonly ObjectPart[] = [];
      try {
        parts = decodeManifest(key, bytes).parts;
      } catch {
        // A damaged manifest is still deleted; its parts cannot be known.
      }
      const deleted = await blobs.delete(key);
      await removeParts(parts);
      return deleted;
    },
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
