import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AppError } from '../core/errors.ts';
import { fixedSizeParts } from '../storage/fixed-size-parts.ts';

// The encryption of a backup's compressed stream: AES-256-GCM over fixed-size chunks,
// each sealed on its own so that memory is bounded by the chunk size. A frame is
// `nonce (12) | ciphertext | tag (16)`; every frame but the last holds exactly
// `chunkBytes` of plaintext. The associated data binds each chunk to its backup, its
// index and whether it is the last, so a reordered, dropped, repeated, truncated or
// appended chunk fails to authenticate, exactly as a changed byte does.

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a frame adds to its chunk. */
export const FRAME_OVERHEAD = NONCE_BYTES + TAG_BYTES;
const AAD_LABEL = 'agentstate.backup/1';

/** The keys of one backup, derived from a master key and the backup's own salt. */
export interface BackupKeys {
  readonly encryption: Buffer;
  /** Authenticates the manifest (`backup-manifest.ts`). */
  readonly mac: Buffer;
}

/**
 * HKDF-SHA256 of the master key with a random salt per backup: each backup has its own
 * keys, so random nonces never repeat under one key, and a chunk of one backup never
 * authenticates in another.
 */
export function deriveBackupKeys(masterKey: Uint8Array, salt: Uint8Array): BackupKeys {
  const derive = (purpose: string) =>
    Buffer.from(hkdfSync('sha256', masterKey, salt, `${AAD_LABEL} ${purpose}`, 32));
  return { encryption: derive('encryption'), mac: derive('manifest mac') };
}

/** The frames of `source` cut into chunks of `chunkBytes`; the last frame is flagged final (an empty source yields one empty final frame). */
export async function* encryptChunks(
  source: AsyncIterable<Uint8Array>,
  key: Buffer,
  backupId: string,
  chunkBytes: number,
): AsyncGenerator<Uint8Array> {
  let sealed = 0;
  for await (const { item, index, last } of withPosition(fixedSizeParts(source, chunkBytes))) {
    yield seal(item, key, associatedData(backupId, index, last));
    sealed++;
  }
  if (sealed === 0) yield seal(new Uint8Array(0), key, associatedData(backupId, 0, true));
}

/**
 * The plaintext of frames made by `encryptChunks`, chunk by chunk, each yielded only
 * once it authenticated. Anything else (a changed, missing, reordered or extra byte or
 * frame, another backup's frames, another key) is `DecryptionFailed` when iterated.
 */
export async function* decryptChunks(
  frames: AsyncIterable<Uint8Array>,
  key: Buffer,
  backupId: string,
  chunkBytes: number,
): AsyncGenerator<Uint8Array> {
  let opened = 0;
  for await (const { item, index, last } of withPosition(frameViews(frames, chunkBytes + FRAME_OVERHEAD))) {
    yield open(item, key, backupId, index, last);
    opened++;
  }
  if (opened === 0) throw decryptionFailed(backupId, 'it holds no chunk at all');
}

/**
 * `source` cut into frames of `frameBytes` (the last shorter): views into the source's
 * own buffers where a frame lies inside one, as it does in every whole part a backup
 * stores; a copy only of a frame that straddles two. The source must not reuse its
 * buffers.
 */
async function* frameViews(
  source: AsyncIterable<Uint8Array>,
  frameBytes: number,
): AsyncGenerator<Uint8Array> {
  let pieces: Uint8Array[] = [];
  let pending = 0;
  for await (const chunk of source) {
    let offset = 0;
    if (pending > 0) {
      offset = Math.min(frameBytes - pending, chunk.byteLength);
      pieces.push(chunk.subarray(0, offset));
      pending += offset;
      if (pending < frameBytes) continue;
      yield Buffer.concat(pieces, pending);
      pieces = [];
      pending = 0;
    }
    for (; offset + frameBytes <= chunk.byteLength; offset += frameBytes)
      yield chunk.subarray(offset, offset + frameBytes);
    if (offset < chunk.byteLength) {
      pieces = [chunk.subarray(offset)];
      pending = chunk.byteLength - offset;
    }
  }
  if (pending > 0) yield Buffer.concat(pieces, pending);
}

/** Each item with its index and whether it is the last, which takes holding one item back. */
async function* withPosition<T>(
  source: AsyncIterable<T>,
): AsyncGenerator<{ item: T; index: number; last: boolean }> {
  let index = 0;
  let pending: { item: T } | undefined;
  for await (const item of source) {
    if (pending !== undefined) yield { item: pending.item, index: index++, last: false };
    pending = { item };
  }
  if (pending !== undefined) yield { item: pending.item, index, last: true };
}

/** Opens one frame on its own: `index` and `final` as `encryptChunks` gave them (for sampled verification). */
export function openFrame(frame: Uint8Array, key: Buffer, backupId: string, index: number, final: boolean) {
  return open(frame, key, backupId, index, final);
}

function seal(chunk: Uint8Array, key: Buffer, aad: Buffer): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  return Buffer.concat([nonce, cipher.update(chunk), cipher.final(), cipher.getAuthTag()]);
}

function open(frame: Uint8Array, key: Buffer, backupId: string, index: number, final: boolean): Uint8Array {
  if (frame.byteLength < FRAME_OVERHEAD) throw decryptionFailed(backupId, `chunk ${index} is truncated`);
  const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
  decipher.setAAD(associatedData(backupId, index, final));
  decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES));
  try {
    const plaintext = decipher.update(bytes.subarray(NONCE_BYTES, bytes.byteLength - TAG_BYTES));
    // GCM answers everything from `update`: `final` only authenticates, so nothing is joined.
    const rest = decipher.final();
    return rest.byteLength === 0 ? plaintext : Buffer.concat([plaintext, rest]);
  } catch (error) {
    throw decryptionFailed(
      backupId,
      `chunk ${index}${final ? ' (the last)' : ''} does not authenticate: a wrong key, or the chunk was changed, moved or cut`,
      error,
    );
  }
}

function associatedData(backupId: string, index: number, final: boolean): Buffer {
  const position = Buffer.alloc(5);
  position.writeUInt32BE(index, 0);
  position.writeUInt8(final ? 1 : 0, 4);
  return Buffer.concat([Buffer.from(`${AAD_LABEL}\u0000${backupId}\u0000`, 'utf8'), position]);
}

export function decryptionFailed(backupId: string, reason: string, cause?: unknown): AppError {
  return new AppError(
    'DecryptionFailed',
    `backup ${backupId} cannot be decrypted: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}
