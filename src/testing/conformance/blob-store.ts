import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../ports/blob-store.ts';
import { createLargeObjectStore } from '../../storage/large-object-store.ts';
import { expectAppError } from './assertions.ts';
import type { ConformanceTarget } from './target.ts';

/** The semantics of `BlobStore` (src/ports/blob-store.ts) and of large objects over it. */
export function blobStoreConformance(target: ConformanceTarget<BlobStore>): void {
  describe.skipIf(target.skip !== undefined)(
    `BlobStore conformance: ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`,
    () => {
      let blobs: BlobStore;
      const prefix = () => `conformance/${randomUUID()}/`;

      beforeAll(async () => {
        blobs = await target.create();
        await blobs.init();
      }, target.setupTimeoutMs ?? 180_000);

      afterAll(async () => {
        await blobs?.close();
        await target.destroy?.();
      }, 60_000);

      it('round-trips every byte value and reads a missing object as undefined', async () => {
        const key = `${prefix()}bytes.bin`;
        const data = Uint8Array.from({ length: 1024 }, (_, i) => i % 256);
        await blobs.put(key, data);
        expect(Buffer.from((await blobs.get(key))!)).toEqual(Buffer.from(data));
        expect(await blobs.get(`${prefix()}missing`)).toBeUndefined();
      });

      it('round-trips an empty object', async () => {
        const key = `${prefix()}empty`;
        await blobs.put(key, new Uint8Array());
        expect((await blobs.get(key))?.byteLength).toBe(0);
      });

      it('replaces an object as a whole', async () => {
        const key = `${prefix()}replace.json`;
        await blobs.put(key, Buffer.from('first version, longer than the second'));
        await blobs.put(key, Buffer.from('second'));
        expect(Buffer.from((await blobs.get(key))!).toString()).toBe('second');
      });

      it('accepts an object of exactly the limit and refuses one byte more with PayloadTooLarge', async () => {
        const key = `${prefix()}at-limit`;
        const data = randomBytes(blobs.limits.maxObjectBytes);
        await blobs.put(key, data);
        expect(Buffer.from((await blobs.get(key))!).equals(data)).toBe(true);
        await expectAppError(
          blobs.put(`${prefix()}over`, randomBytes(blobs.limits.maxObjectBytes + 1)),
          'PayloadTooLarge',
        );
      }, 120_000);

      it('refuses keys that could escape or alias a path with InvalidInput', async () => {
        for (const key of ['', '/abs', '../x', 'a/../b', 'a/./b', 'a//b', 'a\\b', 'nul\u0000']) {
          await expectAppError(blobs.put(key, new Uint8Array([1])), 'InvalidInput');
          await expectAppError(blobs.get(key), 'InvalidInput');
        }
      });

      it('deletes, answering whether there was an object', async () => {
        const key = `${prefix()}delete-me`;
        await blobs.put(key, new Uint8Array([1, 2, 3]));
        expect(await blobs.delete(key)).toBe(true);
        expect(await blobs.get(key)).toBeUndefined();
        expect(await blobs.delete(key)).toBe(false);
      });

      it('lists keys under a prefix in order, page by page', async () => {
        const base = prefix();
        const keys = Array.from(
          { length: 7 },
          (_, i) => `${base}dir/item-${String(i).padStart(2, '0')}`,
        ).reverse();
        for (const key of keys) await blobs.put(key, Buffer.from(key));
        await blobs.put(`${base}dir-sibling/not-listed`, Buffer.from('x'));
        await blobs.put(`${base}dirt`, Buffer.from('x'));

        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await blobs.list(`${base}dir/`, {
            limit: 3,
            ...(cursor === undefined ? {} : { cursor }),
          });
          expect(page.keys.length).toBeLessThanOrEqual(3);
          seen.push(...page.keys);
          cursor = page.cursor;
          pages++;
        } while (cursor !== undefined && pages < 10);
        expect(seen).toEqual([...keys].sort());
        expect(pages).toBeGreaterThanOrEqual(3);
        expect((await blobs.list(`${prefix()}nothing/`)).keys).toEqual([]);
      });

      describe('large objects (parts, then a manifest)', () => {
        const partBytes = 64 * 1024;

        it('streams an object of several parts back byte for byte', async () => {
          const objects = createLargeObjectStore(blobs, { partBytes });
          const key = `${prefix()}large.bin`;
          const data = randomBytes(partBytes * 3 + 123);
          const manifest = await objects.write(key, data);
          expect(manifest.size).toBe(data.byteLength);
          expect(manifest.parts).toHaveLength(4);
          const chunks: Uint8Array[] = [];
          for await (const chunk of objects.read(key)) chunks.push(chunk);
          expect(Buffer.concat(chunks).equals(data)).toBe(true);
        }, 120_000);

        it('never shows an object whose write did not finish', async () => {
          const objects = createLargeObjectStore(blobs, { partBytes });
          const base = prefix();
          const complete = `${base}complete.bin`;
          const unfinished = `${base}unfinished.bin`;
          await objects.write(complete, randomBytes(partBytes + 1));
          async function* failAfterTwoParts() {
            yield randomBytes(partBytes);
            yield randomBytes(partBytes);
            throw new Error('writer crashed');
          }
          await expect(objects.write(unfinished, failAfterTwoParts())).rejects.toThrow('writer crashed');
          expect(await objects.stat(unfinished)).toBeUndefined();
          expect((await objects.list(base)).items.map((item) => item.key)).toEqual([complete]);
        }, 120_000);
      });
    },
  );
}
