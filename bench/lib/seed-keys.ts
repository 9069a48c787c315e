import { createHash, randomBytes } from 'node:crypto';

/** A key name that spreads over the key space as real keys do, the same in every run. */
export function seedKey(i: number): string {
  return `k-${createHash('sha1').update(String(i)).digest('hex').slice(0, 12)}`;
}

/** The value seeded under `seedKey(i)`. */
export function seedValue(i: number): { i: number; seeded: true } {
  return { i, seeded: true };
}

/** A value of `bytes` characters of random base64: what compression cannot shrink much, as a backup's worst case. */
export function largeSeedValue(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .slice(0, bytes);
}
