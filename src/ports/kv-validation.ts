import { AppError } from '../core/errors.ts';
import { jsonByteLength, type Json } from '../core/json.ts';
import { KV_MAX_KEY_BYTES } from './kv-store.ts';
import { MAX_TTL_SECONDS } from './limits.ts';

// Shared by every KvStore adapter so that the same bad key or oversized value fails
// with the same code everywhere, before anything reaches a store.

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export function assertValidKvKey(key: string): void {
  if (key.length === 0) throw new AppError('InvalidInput', 'store key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > KV_MAX_KEY_BYTES) {
    throw new AppError('InvalidInput', `store key is longer than ${KV_MAX_KEY_BYTES} bytes`);
  }
  if (key.includes('||')) throw new AppError('InvalidInput', 'store key must not contain "||"');
  if (CONTROL_CHARACTERS.test(key))
    throw new AppError('InvalidInput', 'store key must not contain control characters');
  if (!key.isWellFormed()) throw new AppError('InvalidInput', 'store key must be well-formed UTF-16');
}

/** Answers the value's encoded size after checking it fits. */
export function assertValueFits(key: string, value: Json, maxValueBytes: number): number {
  const size = jsonByteLength(value);
  if (size > maxValueBytes) {
    throw new AppError(
      'PayloadTooLarge',
      `value for ${JSON.stringify(key.slice(0, 80))} is ${size} bytes; the limit is ${maxValueBytes}`,
      {
        details: { size_bytes: size, limit_bytes: maxValueBytes },
      },
    );
  }
  return size;
}

export function assertValidTtl(ttlSeconds: number | undefined): void {
  if (
    ttlSeconds !== undefined &&
    !(Number.isSafeInteger(ttlSeconds) && ttlSeconds > 0 && ttlSeconds <= MAX_TTL_SECONDS)
  ) {
    throw new AppError(
      'InvalidInput',
      `ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}, not ${ttlSeconds}`,
    );
  }
}
