import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { decodeCursor, encodeCursor, folderOfPrefix, keysAfter, keysOfPaths } from './blob-listing.ts';

describe('cursors', () => {
  it('round-trip any key', () => {
    const position = { after: 'sessions/ü 🙂/%2F/x', seen: 12 };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it('refuse what this store did not answer with InvalidInput', () => {
    for (const cursor of ['', 'not a cursor', Buffer.from('{"a":1}').toString('base64url')]) {
      expect(() => decodeCursor(cursor)).toThrow(AppError);
    }
  });
});

describe('keysAfter', () => {
  it('keeps keys under the prefix, after the cursor, without probes, in byte order', () => {
    const scanned = [
      'd/b',
      'd/a',
      'd-sibling/x',
      'dirt',
      'd/\u{1F642}',
      'd/\uFFFD',
      '.agentstate-probe/123',
      'd/c',
    ];
    // U+FFFD sorts before U+1F642 in UTF-8 bytes, after it in UTF-16 units.
    expect(keysAfter(scanned, 'd/', undefined)).toEqual({
      keys: ['d/a', 'd/b', 'd/c', 'd/\uFFFD', 'd/\u{1F642}'],
      before: 0,
    });
    expect(keysAfter(scanned, 'd/', 'd/b')).toEqual({ keys: ['d/c', 'd/\uFFFD', 'd/\u{1F642}'], before: 2 });
    expect(keysAfter(scanned, '', undefined).keys).not.toContain('.agentstate-probe/123');
  });
});

describe('localstorage paths', () => {
  it('walks the folder of the prefix', () => {
    expect(folderOfPrefix('sessions/abc/sn')).toBe('sessions/abc');
    expect(folderOfPrefix('sessions/abc/')).toBe('sessions/abc');
    expect(folderOfPrefix('sess')).toBe('');
    expect(folderOfPrefix('')).toBe('');
  });

  it('turns the absolute paths the binding lists into keys', () => {
    const paths = ['/data/blobs/a/b', '/data/blobs/c', '/data/blobs-other/d', '/elsewhere/e'];
    expect(keysOfPaths(paths, '/data/blobs')).toEqual(['a/b', 'c']);
    expect(keysOfPaths(paths, '/data/blobs/')).toEqual(['a/b', 'c']);
  });
});
