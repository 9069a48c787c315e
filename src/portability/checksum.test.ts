import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { checksumOf, streamWithChecksum } from './checksum.ts';

const document = {
  z: 1,
  b: [{ y: 2, a: 'é' }, 3, { '\u00e9': 1, e: 2 }],
  a: 'x',
  empty: [],
  n: null,
  m: { q: [1, { c: 2, b: 1.5e3 }] },
};
const expected = `sha256:${createHash('sha256')
  .update(canonicalize(document) ?? '')
  .digest('hex')}`;

async function* pages(...list: unknown[][]) {
  for (const page of list) yield page;
}

describe('the checksum, hashed a piece at a time', () => {
  it('is SHA-256 over the RFC 8785 encoding of every field but checksum', () => {
    expect(checksumOf(document)).toBe(expected);
    expect(checksumOf({ ...document, checksum: 'sha256:anything' })).toBe(expected);
  });

  it('streams the same document, arrays given in pages, with its checksum last', async () => {
    let text = '';
    for await (const piece of streamWithChecksum({
      ...document,
      b: pages([{ y: 2, a: 'é' }], [], [3, { '\u00e9': 1, e: 2 }]),
      empty: pages(),
    }))
      text += piece;
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed).at(-1)).toBe('checksum');
    expect(parsed['checksum']).toBe(expected);
    expect(parsed).toEqual({ ...document, checksum: expected });
  });
});
