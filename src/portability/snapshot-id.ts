import { randomBytes } from 'node:crypto';

/**
 * A new snapshot id: a UUID version 7 (RFC 9562), whose first 48 bits are the Unix time
 * in milliseconds. Ids sort by creation time as text, so the blob listing of
 * `immutable_history/` (ascending byte order) is oldest first and pages resume cleanly.
 */
export function newSnapshotId(now: Date = new Date()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now.getTime(), 0, 6);
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A snapshot id as this service writes and accepts them: a lowercase UUID. */
export const SNAPSHOT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
