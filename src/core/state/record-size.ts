import { AppError } from '../errors.ts';
import { jsonByteLength, type Json } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';

/**
 * Throws `PayloadTooLarge` unless `record`, whose `value` takes `valueBytes` bytes of
 * JSON, fits one record of the store: the head, the largest record of a write.
 */
export function assertRecordFits(
  kv: Pick<KvStore, 'limits'>,
  record: { readonly [field: string]: Json },
  valueBytes: number,
): void {
  // The record's size without re-encoding the value: 4 bytes stand for `null`.
  const recordBytes = jsonByteLength({ ...record, value: null }) - 4 + valueBytes;
  const limit = kv.limits.maxValueBytes;
  if (recordBytes > limit) {
    throw new AppError(
      'PayloadTooLarge',
      `value of ${valueBytes} bytes does not fit the store's limit of ${limit} bytes per record`,
      { details: { size_bytes: valueBytes, limit_bytes: limit - (recordBytes - valueBytes) } },
    );
  }
}
