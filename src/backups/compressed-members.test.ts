import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { expectAppError } from '../testing/conformance/assertions.ts';
import { compressMembers, decompressMembers } from './compressed-members.ts';

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('length-prefixed compressed members', () => {
  it('round-trips across several members, however the compressed bytes are cut', async () => {
    const text = randomBytes(1_500_000).toString('base64');
    // One piece larger than a member, and text of several bytes a character.
    const pieces = [
      ...Array.from({ length: 40 }, (_, i) => text.slice(i * 100_000, (i + 1) * 100_000)),
      'ü🙂'.repeat(300_000),
      'end',
    ];
    const compressed = await collect(compressMembers(from(pieces)));
    // Cut into odd sizes, as decrypted chunks are.
    const cut = Array.from({ length: Math.ceil(compressed.byteLength / 777) }, (_, i) =>
      compressed.subarray(i * 777, (i + 1) * 777),
    );
    expect((await collect(decompressMembers('b1', from(cut)))).toString('utf8')).toBe(pieces.join(''));
  });

  it('writes zstd members and still reads the gzip members of backups written before', async () => {
    const compressed = await collect(compressMembers(from(['z'.repeat(5000)])));
    expect(compressed.subarray(4, 8)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const member = (text: string) => {
      const bytes = gzipSync(Buffer.from(text));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.byteLength);
      return Buffer.concat([length, bytes]);
    };
    const old = Buffer.concat([member('first member\n'), member('second member\n')]);
    expect((await collect(decompressMembers('b1', from([old])))).toString()).toBe(
      'first member\nsecond member\n',
    );
  });

  it('refuses a stream cut inside a member or a member that is neither zstd nor gzip', async () => {
    const compressed = await collect(compressMembers(from(['x'.repeat(5000)])));
    await expectAppError(
      collect(decompressMembers('b1', from([compressed.subarray(0, -3)]))),
      'DecryptionFailed',
    );
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 4]), Buffer.from('nope')]);
    await expectAppError(collect(decompressMembers('b1', from([garbage]))), 'DecryptionFailed');
  });
});
