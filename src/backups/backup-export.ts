import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { writeFileWhole } from '../cli/output.ts';
import { AppError, isAppError } from '../core/errors.ts';
import { encodeBackupManifest, type BackupManifest } from './backup-manifest.ts';
import type { BackupExportResult } from './backup-schemas.ts';

/** The file name of an exported backup, kept when the destination is a directory. */
export const exportFileName = (backupId: string) => `${backupId}.agentstate-backup`;

/**
 * Writes a backup as one self-contained file: its manifest as a JSON line, then the
 * encrypted bytes. The file is as secret as the backup (nothing in clear); it needs the
 * vault key to read. Written whole or not at all: a destination that cannot be written
 * is `IoError` and leaves no partial file.
 */
export async function exportBackupFile(
  manifest: BackupManifest,
  encrypted: AsyncIterable<Uint8Array>,
  path: string,
): Promise<BackupExportResult> {
  const isDirectory = await stat(path).then(
    (found) => found.isDirectory(),
    () => false,
  );
  const target = resolve(isDirectory ? join(path, exportFileName(manifest.backup_id)) : path);
  const header = Buffer.concat([encodeBackupManifest(manifest), Buffer.from('\n')]);
  let size = 0;
  async function* file(): AsyncGenerator<Uint8Array> {
    size += header.byteLength;
    yield header;
    for await (const bytes of encrypted) {
      size += bytes.byteLength;
      yield bytes;
    }
  }
  try {
    await writeFileWhole(target, Readable.toWeb(Readable.from(file())) as ReadableStream<Uint8Array>);
  } catch (error) {
    if (!isAppError(error, 'IoError')) throw error;
    throw new AppError('IoError', error.message, {
      cause: error,
      recovery: [
        { action: 'check_path', description: 'Verify the destination path exists and is writable.' },
      ],
    });
  }
  return { exported_path: target, size_bytes: size };
}
