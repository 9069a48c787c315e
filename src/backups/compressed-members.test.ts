import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectAppError } from '../testing/conformance/assertions.ts';
import { compressMembers, decompressMembers } from './compressed-members.ts';

async function* from(items: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* items;
}
async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('length-prefixed gzip members', () => {
  it('round-trips across several members, however the compressed bytes are cut', async () => {
    const text = Buffer.from(randomBytes(1_500_000).toString('base64'));
    const pieces = Array.from({ length: 40 }, (_, i) => text.subarray(i * 100_000, (i + 1) * 100_000));
    const compressed = await collect(compressMembers(from(pieces)));
    // Cut into odd sizes, as decrypted chunks are.
    const cut = Array.from({ length: Math.ceil(compressed.byteLength / 777) }, (_, i) =>
      compressed.subarray(i * 777, (i + 1) * 777),
    );
    expect(await collect(decompressMembers('b1', from(cut)))).toEqual(text);
  });

  it('refuses a stream cut inside a member or a member that is not gzip', async () => {
    const compressed = await collect(compressMembers(from([Buffer.from('x'.repeat(5000))])));
    await expectAppError(
      collect(decompressMembers('b1', from([compressed.subarray(0, -3)]))),
      'DecryptionFailed',
    );
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 4]), Buffer.from('nope')]);
    await expectAppError(collect(decompressMembers('b1', from([garbage]))), 'DecryptionFailed');
  });
});
