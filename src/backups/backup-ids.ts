import { randomBytes } from 'node:crypto';

/**
 * A new backup id, `bkp-YYYYMMDDTHHMMSSmmmZ-<8 hex>`: the creation time to the
 * millisecond, so ids sort by creation time as text, and random bits, so two backups
 * started in the same millisecond differ.
 */
export function newBackupId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `bkp-${stamp}-${randomBytes(4).toString('hex')}`;
}
