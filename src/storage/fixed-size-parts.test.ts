import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fixedSizeParts } from './fixed-size-parts.ts';

async function sizes(source: AsyncIterable<Uint8Array> | Uint8Array, partBytes: number): Promise<number[]> {
  const parts: number[] = [];
  for await (const part of fixedSizeParts(source, partBytes)) parts.push(part.byteLength);
  return parts;
}

/** A stream of zero-filled chunks of the given lengths, a tick apart as real streams are. */
async function* chunks(...lengths: number[]): AsyncGenerator<Uint8Array> {
  for (const length of lengths) {
    await new Promise((resolve) => setImmediate(resolve));
    yield new Uint8Array(length);
  }
}

describe('fixedSizeParts', () => {
  it('cuts any chunking of a stream into full parts and one shorter last part', async () => {
    expect(await sizes(chunks(1, 2, 3, 10, 0, 7), 4)).toEqual([4, 4, 4, 4, 4, 3]);
    expect(await sizes(chunks(8), 4)).toEqual([4, 4]);
    expect(await sizes(chunks(), 4)).toEqual([]);
    expect(await sizes(chunks(0, 0), 4)).toEqual([]);
  });

  it('cuts a buffer the same way', async () => {
    expect(await sizes(new Uint8Array(9), 4)).toEqual([4, 4, 1]);
    expect(await sizes(new Uint8Array(0), 4)).toEqual([]);
  });

  it('keeps the bytes in order', async () => {
    const parts: Uint8Array[] = [];
    const data = Uint8Array.from({ length: 20 }, (_, i) => i);
    const pairs = Array.from({ length: 10 }, (_, i) => data.subarray(i * 2, i * 2 + 2));
    for await (const part of fixedSizeParts(Readable.from(pairs), 3)) parts.push(part);
    expect([...Buffer.concat(parts)]).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
