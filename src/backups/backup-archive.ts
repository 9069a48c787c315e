import { randomBytes, createHash } from 'node:crypto';
import { AppError, isAppError } from '../core/errors.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import {
  createLargeObjectStore,
  type LargeObjectStore,
  type ObjectManifest,
} from '../storage/large-object-store.ts';
import {
  assertManifestAuthentic,
  BACKUP_FORMAT,
  decodeBackupManifest,
  PLATFORM_BACKUP_FORMAT,
  encodeBackupManifest,
  signManifest,
  type BackupManifest,
} from './backup-manifest.ts';
import { decodeRecords, encodeRecords, type StateRecord } from './backup-records.ts';
import { compressMembers, decompressMembers } from './compressed-members.ts';
import {
  decryptChunks,
  decryptionFailed,
  deriveBackupKeys,
  encryptChunks,
  FRAME_OVERHEAD,
  openFrame,
} from './chunk-cipher.ts';
import { readAhead } from './read-ahead.ts';
import type { Vault } from './vault.ts';

export interface BackupArchiveOptions {
  /** Plaintext bytes per encrypted chunk: memory per backup is a few of these plus one blob part. @default 1 MiB */
  readonly chunkBytes?: number;
}

export interface WriteRequest {
  readonly backupId: string;
  readonly tenant: string;
  readonly scope: string;
  /** A platform backup's tenants, which its manifest names (format 2); its records name theirs. */
  readonly tenants?: readonly string[];
  readonly createdAt: Date;
  readonly records: AsyncIterable<StateRecord>;
  /** Told of encrypted bytes as they are stored. */
  readonly progress?: (bytes: number) => void;
}

/**
 * Encrypted backups on the blob port: `backups/<id>/data` (a large object whose parts
 * are under `backups/<id>/data.parts/`) and the manifest at `backup-manifests/<id>.json`,
 * written last. A backup without a manifest does not exist for `list` or `open`.
 */
export interface BackupArchive {
  /** Streams `records` through gzip and AES-256-GCM into the blob store; `VaultLocked` before anything is written if there is no key. */
  write(request: WriteRequest): Promise<BackupManifest>;
  /** The manifest of a complete backup, or `undefined`. */
  manifest(backupId: string): Promise<BackupManifest | undefined>;
  /** Every complete backup's manifest of `tenant`, newest first. */
  list(tenant: string): Promise<BackupManifest[]>;
  /**
   * The records of a backup, decrypted and checked as they stream; `DecryptionFailed`
   * (when iterated) if any byte, part or the manifest is not as written, or the vault
   * lacks its key.
   */
  read(manifest: BackupManifest): AsyncIterable<StateRecord>;
  /** The encrypted bytes, each part checked against the manifest (export). */
  encrypted(manifest: BackupManifest): AsyncIterable<Uint8Array>;
  /**
   * Checks a backup without restoring it: every chunk (and every record) at 100, else a
   * random `percent` of its parts, each checksum and chunk authenticated.
   */
  verify(
    manifest: BackupManifest,
    percent: number,
  ): Promise<{ chunks_checked: number; parts_checked: number }>;
  /** Removes the manifest first (the backup stops existing), then its data. */
  remove(backupId: string): Promise<void>;
}

const MANIFESTS = 'backup-manifests/';
const dataKey = (backupId: string) => `backups/${backupId}/data`;
const manifestKey = (backupId: string) => `${MANIFESTS}${backupId}.json`;

export function createBackupArchive(
  blobs: BlobStore,
  vault: Vault,
  options: BackupArchiveOptions = {},
): BackupArchive {
  const { chunkBytes = 1024 * 1024 } = options;
  const frameBytes = chunkBytes + FRAME_OVERHEAD;
  if (frameBytes > blobs.limits.maxObjectBytes)
    throw new AppError(
      'InvalidInput',
      `chunkBytes must leave room for a frame in one blob of ${blobs.limits.maxObjectBytes} bytes`,
    );
  // Whole frames per part, so that a sampled part decrypts on its own.
  const framesPerPart = Math.floor(blobs.limits.maxObjectBytes / frameBytes);
  const objects: LargeObjectStore = createLargeObjectStore(blobs, { partBytes: framesPerPart * frameBytes });

  async function keysOf(manifest: BackupManifest) {
    const master = await vault.byId(manifest.key_id);
    const keys = deriveBackupKeys(master.key, Buffer.from(manifest.salt, 'base64'));
    assertManifestAuthentic(manifest, keys.mac);
    return keys;
  }

  /** The data object, checked against the (authenticated) backup manifest. */
  async function dataOf(manifest: BackupManifest): Promise<ObjectManifest> {
    const data = await objects.stat(dataKey(manifest.backup_id)).catch((error: unknown) => {
      throw asDecryptionFailed(manifest.backup_id, error);
    });
    if (
      data === undefined ||
      data.sha256 !== manifest.sha256 ||
      data.size !== manifest.file_size_bytes ||
      data.parts.length !== manifest.part_count
    )
      throw decryptionFailed(manifest.backup_id, 'its data is missing or not the data its manifest names');
    return data;
  }

  async function* checkedData(manifest: BackupManifest): AsyncGenerator<Uint8Array> {
    await dataOf(manifest);
    try {
      // The next part is fetched while this one is decrypted.
      yield* readAhead(objects.read(dataKey(manifest.backup_id)), 1);
    } catch (error) {
      throw asDecryptionFailed(manifest.backup_id, error);
    }
  }

  async function* read(manifest: BackupManifest): AsyncGenerator<StateRecord> {
    const keys = await keysOf(manifest);
    const plaintext = decryptChunks(
      checkedData(manifest),
      keys.encryption,
      manifest.backup_id,
      manifest.chunk_bytes,
    );
    yield* decodeRecords(manifest.backup_id, decompressMembers(manifest.backup_id, plaintext));
  }

  async function sampled(manifest: BackupManifest, percent: number) {
    const keys = await keysOf(manifest);
    const data = await dataOf(manifest);
    // The backup's own framing, which may predate this worker's chunk size: every part
    // but the last holds the same whole number of frames.
    const frame = manifest.chunk_bytes + FRAME_OVERHEAD;
    const perPart = Math.floor((data.parts[0]?.size ?? 0) / frame);
    const wanted = Math.max(1, Math.ceil((data.parts.length * percent) / 100));
    const chosen = data.parts
      .map((part, index) => ({ part, index, order: Math.random() }))
      .sort((a, b) => a.order - b.order)
      .slice(0, wanted);
    let chunks = 0;
    for (const { part, index } of chosen) {
      const bytes = await blobs.get(part.key);
      if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== part.sha256)
        throw decryptionFailed(manifest.backup_id, `part ${index} is missing or changed`);
      for (
        let offset = 0, position = index * perPart;
        offset < bytes.byteLength;
        offset += frame, position++
      ) {
        const final = position === manifest.chunks - 1;
        openFrame(
          bytes.subarray(offset, offset + frame),
          keys.encryption,
          manifest.backup_id,
          position,
          final,
        );
        chunks++;
      }
    }
    return { chunks_checked: chunks, parts_checked: chosen.length };
  }

  return {
    async write({ backupId, tenant, scope, tenants, createdAt, records, progress }) {
      const master = await vault.current();
      const salt = randomBytes(32);
      const keys = deriveBackupKeys(master.key, salt);
      let count = 0;
      let chunks = 0;
      async function* counted(): AsyncGenerator<StateRecord> {
        for await (const record of records) {
          count++;
          yield record;
        }
      }
      const compressed = compressMembers(encodeRecords(counted()));
      async function* frames(): AsyncGenerator<Uint8Array> {
        for await (const frame of encryptChunks(compressed, keys.encryption, backupId, chunkBytes)) {
          chunks++;
          progress?.(frame.byteLength);
          yield frame;
        }
      }
      // A part's worth of frames is produced while the part before is being stored.
      const data = await objects.write(dataKey(backupId), readAhead(frames(), framesPerPart));
      const manifest = signManifest(
        {
          format: tenants === undefined ? BACKUP_FORMAT : PLATFORM_BACKUP_FORMAT,
          backup_id: backupId,
          tenant,
          scope,
          ...(tenants === undefined ? {} : { tenants: [...tenants] }),
          created_at: createdAt.toISOString(),
          completed_at: new Date().toISOString(),
          key_id: master.id,
          salt: salt.toString('base64'),
          chunk_bytes: chunkBytes,
          chunks,
          file_size_bytes: data.size,
          part_count: data.parts.length,
          sha256: data.sha256,
          records: count,
        },
        keys.mac,
      );
      await blobs.put(manifestKey(backupId), encodeBackupManifest(manifest));
      return manifest;
    },

    async manifest(backupId) {
      const bytes = await blobs.get(manifestKey(backupId));
      return bytes === undefined ? undefined : decodeBackupManifest(backupId, bytes);
    },

    async list(tenant) {
      const manifests: BackupManifest[] = [];
      for (let cursor: string | undefined; ;) {
        const page = await blobs.list(MANIFESTS, cursor === undefined ? {} : { cursor });
        for (const key of page.keys) {
          const id = key.slice(MANIFESTS.length, -'.json'.length);
          const bytes = await blobs.get(key);
          if (bytes === undefined) continue;
          try {
            const manifest = decodeBackupManifest(id, bytes);
            if (manifest.tenant === tenant) manifests.push(manifest);
          } catch {
            // A damaged manifest is not a backup anyone can restore; `open` by id reports it.
          }
        }
        if (page.cursor === undefined) break;
        cursor = page.cursor;
      }
      return manifests.sort((a, b) => (a.backup_id < b.backup_id ? 1 : -1));
    },

    read,

    async *encrypted(manifest) {
      await keysOf(manifest);
      yield* checkedData(manifest);
    },

    async verify(manifest, percent) {
      if (percent < 100) return sampled(manifest, percent);
      // Reading every record checks every chunk, the compression and the record count.
      for await (const record of read(manifest)) void record;
      return { chunks_checked: manifest.chunks, parts_checked: manifest.part_count };
    },

    async remove(backupId) {
      await blobs.delete(manifestKey(backupId));
      await objects.delete(dataKey(backupId));
    },
  };
}

/** A damaged data object is a backup that does not authenticate. */
function asDecryptionFailed(backupId: string, error: unknown): unknown {
  if (
    isAppError(error, 'ChecksumMismatch') ||
    isAppError(error, 'KeyNotFound') ||
    isAppError(error, 'VersionConflict')
  )
    return decryptionFailed(backupId, error.message, error);
  return error;
}
