import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { BLOB_MAX_KEY_BYTES, assertValidBlobKey } from '../ports/blob-validation.ts';

// The manifest of a large object: written last, at the object's own key, naming every
// part with its size and SHA-256. Read back from storage, so decoded, never trusted.

export const OBJECT_MANIFEST_FORMAT = 'agentstate.object/1';
const FORMAT_FAMILY = 'agentstate.object/';
const PARTS_SUFFIX = '.parts';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const objectManifestSchema = z
  .object({
    format: z.literal(OBJECT_MANIFEST_FORMAT),
    key: z.string(),
    size: z.number().int().nonnegative(),
    sha256: sha256Hex,
    parts: z.array(z.object({ key: z.string(), size: z.number().int().nonnegative(), sha256: sha256Hex })),
    created_at: z.iso.datetime(),
    write_id: z.uuid(),
  })
  .superRefine((manifest, context) => {
    // Parts must be exactly where the writer put them: a manifest that names any other
    // key would make `delete` remove, or `read` return, an unrelated object.
    manifest.parts.forEach((part, index) => {
      if (part.key !== partKey(manifest.key, manifest.write_id, index)) {
        context.addIssue({
          code: 'custom',
          path: ['parts', index, 'key'],
          message: 'not the key of this part',
        });
      }
    });
    if (manifest.parts.reduce((sum, part) => sum + part.size, 0) !== manifest.size) {
      context.addIssue({ code: 'custom', path: ['size'], message: 'not the sum of the part sizes' });
    }
  });

export type ObjectManifest = z.infer<typeof objectManifestSchema>;
export type ObjectPart = ObjectManifest['parts'][number];

/** Where part `index` of write `writeId` of `key` lives: `<key>.parts/<writeId>/<00000>`. */
export function partKey(key: string, writeId: string, index: number): string {
  return `${key}${PARTS_SUFFIX}/${writeId}/${String(index).padStart(5, '0')}`;
}

/** Whether a blob key is a part rather than a manifest; object keys cannot look like one. */
export function isPartKey(key: string): boolean {
  return key.includes(`${PARTS_SUFFIX}/`);
}

/**
 * Throws `InvalidInput` unless `key` can name a large object: a valid blob key with no
 * segment ending in `.parts` (that namespace holds parts), short enough that its part
 * keys are valid blob keys too.
 */
export function assertValidObjectKey(key: string): void {
  assertValidBlobKey(key);
  if (key.split('/').some((segment) => segment.endsWith(PARTS_SUFFIX))) {
    throw new AppError(
      'InvalidInput',
      `object key ${JSON.stringify(key.slice(0, 80))} must not have a segment ending in "${PARTS_SUFFIX}"`,
    );
  }
  const longestPart = partKey(key, '00000000-0000-0000-0000-000000000000', 99_999);
  if (Buffer.byteLength(longestPart, 'utf8') > BLOB_MAX_KEY_BYTES) {
    throw new AppError(
      'InvalidInput',
      `object key ${JSON.stringify(key.slice(0, 80))} leaves no room for its part keys`,
    );
  }
}

export function encodeManifest(manifest: ObjectManifest): Uint8Array {
  return Buffer.from(JSON.stringify(manifest), 'utf8');
}

/**
 * Decodes the manifest stored at `key`. A manifest of a later format is
 * `IncompatibleVersion`; anything else that is not a manifest of `key` (truncated,
 * edited, copied from another key) is `ChecksumMismatch`.
 */
export function decodeManifest(key: string, bytes: Uint8Array): ObjectManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw damaged(key, 'is not JSON', error);
  }
  const format = typeof json === 'object' && json !== null && 'format' in json ? json.format : undefined;
  if (typeof format === 'string' && format.startsWith(FORMAT_FAMILY) && format !== OBJECT_MANIFEST_FORMAT) {
    throw new AppError(
      'IncompatibleVersion',
      `object ${JSON.stringify(key)} has manifest format ${format}; this release reads ${OBJECT_MANIFEST_FORMAT}`,
    );
  }
  const result = objectManifestSchema.safeParse(json);
  if (!result.success) throw damaged(key, 'is not a valid manifest', result.error);
  if (result.data.key !== key) throw damaged(key, `belongs to ${JSON.stringify(result.data.key)}`);
  return result.data;
}

function damaged(key: string, reason: string, cause?: unknown): AppError {
  return new AppError(
    'ChecksumMismatch',
    `the manifest of object ${JSON.stringify(key)} ${reason}`,
    cause === undefined ? {} : { cause },
  );
}
