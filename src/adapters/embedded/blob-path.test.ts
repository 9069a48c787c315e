import { describe, expect, it } from 'vitest';
import { decodeEntry, objectPathNames } from './blob-path.ts';

/** Decodes names as the folder listing does: the key the path stands for. */
function keyOf(names: readonly string[]): string {
  return names
    .map((name, i) => {
      const entry = decodeEntry(name, i === names.length - 1, i < names.length - 1);
      if (entry === undefined) throw new Error(`undecodable name ${name}`);
      return entry.text + (entry.kind === 'folder' ? '/' : '');
    })
    .join('');
}

describe('objectPathNames', () => {
  const keys = [
    'plain/key.json',
    'a',
    '100%/=/+/.dot/..dots/x.',
    'x'.repeat(1024),
    `${'%'.repeat(300)}/${'.'.repeat(300)}`,
    `mixed/${'ü🙂'.repeat(170)}`,
  ];

  it.each(keys)('maps %j to file names that fit a file system and decode back to it', (key) => {
    const names = objectPathNames(key);
    expect(keyOf(names)).toBe(key);
    for (const name of names) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      expect(name.startsWith('.')).toBe(false);
      expect(name.isWellFormed()).toBe(true);
    }
    expect(names.at(-1)!.endsWith('=')).toBe(true);
    expect(names.slice(0, -1).some((name) => name.endsWith('='))).toBe(false);
  });

  it('keeps readable keys readable', () => {
    expect(objectPathNames('sessions/s1/snapshot_latest.json')).toEqual([
      'sessions',
      's1',
      'snapshot_latest.json=',
    ]);
  });

  it('maps different keys to different paths', () => {
    const paths = ['a', 'a=', 'a%3D', 'a/b', 'a+/b', 'a+b', '.a', '%2Ea'].map((key) =>
      objectPathNames(key).join('/'),
    );
    expect(new Set(paths).size).toBe(paths.length);
  });
});
