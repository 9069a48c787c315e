import { createHmac, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { idSchema } from '../core/identity/caller.ts';
import { decryptionFailed } from './chunk-cipher.ts';

// The manifest of a backup, written last: the backup's commit point. It holds no
// plaintext (no key, no value, no agent name): what was backed up, how large, and how to
// check and decrypt it; a platform operator's full backup names the tenants it holds, as
// every manifest names its own tenant. Its `mac` (HMAC-SHA256 with a key derived for this backup)
// covers every other field, so an edited manifest fails like a tampered chunk.

export const BACKUP_FORMAT = 'agentstate.backup/1';
/**
 * A platform operator's full backup: the manifest names its `tenants` and every record
 * its tenant. A tenant's backups keep format 1, which releases before this one read too.
 */
export const PLATFORM_BACKUP_FORMAT = 'agentstate.backup/2';
const READABLE_FORMATS = [BACKUP_FORMAT, PLATFORM_BACKUP_FORMAT] as const;

export const BACKUP_ID_PATTERN = /^bkp-\d{8}T\d{6}\d{3}Z-[0-9a-f]{8}$/;
export const backupIdSchema = z.string().regex(BACKUP_ID_PATTERN, 'is not a backup id (bkp-…)');

/** `full` (all agents' persistent state and the tenant's shared state) or `agent:{name}`. */
export const backupScopeSchema = z.string().regex(/^(full|agent:[A-Za-z0-9][A-Za-z0-9._-]{0,62})$/);

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const backupManifestSchema = z
  .strictObject({
    format: z.enum(READABLE_FORMATS),
    backup_id: backupIdSchema,
    /** The tenant whose backup this is: only its callers see it. */
    tenant: z.string(),
    scope: backupScopeSchema,
    /** Format 2 only: every tenant the backup holds, sorted; the records name theirs. */
    tenants: z.array(idSchema).optional(),
    created_at: z.iso.datetime(),
    completed_at: z.iso.datetime(),
    /** The id of the vault key the backup is encrypted with (`vault.ts`). */
    key_id: z.string().regex(/^[0-9a-f]{16}$/),
    /** The HKDF salt, base64. */
    salt: z.string().min(1),
    chunk_bytes: z.number().int().positive(),
    chunks: z.number().int().positive(),
    /** Bytes of the encrypted backup, which `file_size_bytes` reports. */
    file_size_bytes: z.number().int().nonnegative(),
    part_count: z.number().int().nonnegative(),
    /** SHA-256 of the encrypted bytes, as the data object's manifest states it. */
    sha256: sha256Hex,
    /** Records and keys in the backup, for the operator; not secret. */
    records: z.number().int().nonnegative(),
    mac: sha256Hex,
  })
  .refine(
    (manifest) => (manifest.format === PLATFORM_BACKUP_FORMAT) === (manifest.tenants !== undefined),
    'names tenants exactly when its format is that of a platform backup',
  );

export type BackupManifest = z.infer<typeof backupManifestSchema>;
export type UnsignedManifest = Omit<BackupManifest, 'mac'>;

export function signManifest(manifest: UnsignedManifest, macKey: Buffer): BackupManifest {
  return { ...manifest, mac: macOf(manifest, macKey) };
}

/** Throws `DecryptionFailed` unless `manifest.mac` is that of its other fields under `macKey`. */
export function assertManifestAuthentic(manifest: BackupManifest, macKey: Buffer): void {
  const { mac, ...rest } = manifest;
  const expected = Buffer.from(macOf(rest, macKey), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(mac, 'hex')))
    throw decryptionFailed(
      manifest.backup_id,
      'its manifest does not authenticate: a wrong key, or it was edited',
    );
}

/** The manifest stored for `backupId`; one that is not a manifest of it is `DecryptionFailed`. */
export function decodeBackupManifest(backupId: string, bytes: Uint8Array): BackupManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw decryptionFailed(backupId, 'its manifest is not JSON', error);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (
    typeof format === 'string' &&
    format.startsWith('agentstate.backup/') &&
    !(READABLE_FORMATS as readonly string[]).includes(format)
  )
    throw new AppError(
      'IncompatibleVersion',
      `backup ${backupId} has format ${format}; this release reads ${READABLE_FORMATS.join(' and ')}`,
    );
  const parsed = backupManifestSchema.safeParse(json);
  if (!parsed.success || parsed.data.backup_id !== backupId)
    throw decryptionFailed(backupId, 'its manifest is damaged', parsed.error);
  return parsed.data;
}

export function encodeBackupManifest(manifest: BackupManifest): Uint8Array {
  return Buffer.from(JSON.stringify(manifest), 'utf8');
}

function macOf(manifest: UnsignedManifest, macKey: Buffer): string {
  const canonical = canonicalize(manifest);
  if (canonical === undefined) throw new Error('a manifest always has a JSON encoding');
  return createHmac('sha256', macKey).update(canonical, 'utf8').digest('hex');
}
