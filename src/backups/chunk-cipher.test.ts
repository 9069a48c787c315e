import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectAppError } from '../testing/conformance/assertions.ts';
import { decryptChunks, deriveBackupKeys, encryptChunks, FRAME_OVERHEAD } from './chunk-cipher.ts';

const CHUNK = 64;
const master = randomBytes(32);
const keys = deriveBackupKeys(master, randomBytes(32));

async function* from(items: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* items;
}
async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}
async function frames(plaintext: Buffer, id = 'b1'): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const frame of encryptChunks(from([plaintext]), keys.encryption, id, CHUNK)) out.push(frame);
  return out;
}
const open = (list: readonly Uint8Array[], id = 'b1', key = keys.encryption) =>
  collect(decryptChunks(from(list), key, id, CHUNK));

describe('chunked AES-256-GCM', () => {
  it('round-trips any length, in fixed-size frames, the last one final', async () => {
    for (const length of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7]) {
      const plaintext = randomBytes(length);
      const sealed = await frames(plaintext);
      expect(sealed.length).toBe(Math.max(1, Math.ceil(length / CHUNK)));
      for (const frame of sealed.slice(0, -1)) expect(frame.byteLength).toBe(CHUNK + FRAME_OVERHEAD);
      expect(await open(sealed)).toEqual(plaintext);
    }
  });

  it('decrypts frames however the stored bytes are cut: several frames a piece, or one frame over three', async () => {
    const plaintext = randomBytes(9 * CHUNK + 5);
    const stream = Buffer.concat(await frames(plaintext));
    for (const size of [
      1,
      37,
      CHUNK + FRAME_OVERHEAD,
      3 * (CHUNK + FRAME_OVERHEAD),
      250,
      stream.byteLength,
    ]) {
      const cut = Array.from({ length: Math.ceil(stream.byteLength / size) }, (_, i) =>
        stream.subarray(i * size, (i + 1) * size),
      );
      expect(await open(cut)).toEqual(plaintext);
    }
  });

  it('refuses reordered, dropped, repeated, appended or cut frames, another backup id and another key', async () => {
    const sealed = await frames(randomBytes(4 * CHUNK + 3));
    const [a, b, c, d, e] = sealed as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['swapped', () => open([b, a, c, d, e])],
      ['dropped in the middle', () => open([a, c, d, e])],
      ['repeated', () => open([a, b, b, c, d, e])],
      ['cut after a whole frame', () => open([a, b, c, d])],
      ['extra frame after the final one', () => open([a, b, c, d, e, e])],
      ['last frame truncated', () => open([a, b, c, d, e.subarray(0, e.byteLength - 1)])],
      ['no frame at all', () => open([])],
      ['another backup id', () => open(sealed, 'b2')],
      ['another key', () => open(sealed, 'b1', deriveBackupKeys(master, randomBytes(32)).encryption)],
    ];
    for (const [what, run] of cases) {
      const error = await expectAppError(run(), 'DecryptionFailed');
      expect(error.message, what).toMatch(/backup b[12] cannot be decrypted/);
    }
  });
});
