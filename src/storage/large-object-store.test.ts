import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderBlobStore } from '../adapters/embedded/folder-blob-store.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { expectAppError } from '../testing/conformance/assertions.ts';
import { createLargeObjectStore, type LargeObjectStore } from './large-object-store.ts';

const PART = 256;
let root: string;
let blobs: BlobStore;
let objects: LargeObjectStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentstate-objects-'));
  blobs = createFolderBlobStore({ root, maxObjectBytes: 4096 });
  await blobs.init();
  objects = createLargeObjectStore(blobs, { partBytes: PART });
});
afterEach(async () => rm(root, { recursive: true, force: true }));

async function readAll(key: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of objects.read(key)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function blobKeys(prefix = ''): Promise<string[]> {
  return (await blobs.list(prefix, { limit: 100_000 })).keys;
}

async function* inChunks(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  for (let offset = 0, i = 0; offset < data.byteLength; i++) {
    const size = sizes[i % sizes.length]!;
    // A tick between chunks, as a file or network stream has.
    await new Promise((resolve) => setImmediate(resolve));
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

/** An async source that stops after `before` and waits until `resume` is called. */
function pausedSource(before: Uint8Array, after: Uint8Array) {
  let resume: (fail?: Error) => void = () => {};
  let paused: () => void = () => {};
  const reachedPause = new Promise<void>((resolve) => (paused = resolve));
  async function* source(): AsyncGenerator<Uint8Array> {
    yield before;
    paused();
    const failure = await new Promise<Error | undefined>((resolve) => (resume = resolve));
    if (failure !== undefined) throw failure;
    yield after;
  }
  return { source: source(), reachedPause, resume: (fail?: Error) => resume(fail) };
}

describe('createLargeObjectStore', () => {
  it('round-trips every byte value across many parts, streaming one part at a time', async () => {
    const data = Uint8Array.from({ length: 256 * 9 + 17 }, (_, i) => (i * 7) % 256);
    const manifest = await objects.write('backups/b1.bin', inChunks(data, [1, 1000, 33, 255]));
    expect(manifest).toMatchObject({
      format: 'agentstate.object/1',
      key: 'backups/b1.bin',
      size: data.byteLength,
    });
    expect(manifest.parts).toHaveLength(Math.ceil(data.byteLength / PART));
    expect(await objects.stat('backups/b1.bin')).toEqual(manifest);

    const chunks: Uint8Array[] = [];
    for await (const chunk of objects.read('backups/b1.bin')) chunks.push(chunk);
    expect(Math.max(...chunks.map((chunk) => chunk.byteLength))).toBe(PART);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(new Set(Buffer.concat(chunks)).size).toBe(256);
  });

  it('stores an empty object as a manifest with no parts', async () => {
    const manifest = await objects.write('empty', new Uint8Array());
    expect(manifest.parts).toEqual([]);
    expect((await readAll('empty')).byteLength).toBe(0);
  });

  it('shows nothing of a write interrupted between parts, and the old object while a rewrite is under way', async () => {
    const old = randomBytes(PART * 2);
    await objects.write('snap/old', old);
    const fresh = pausedSource(randomBytes(PART * 2), randomBytes(PART));
    const writingNew = objects.write('snap/new', fresh.source);
    const rewrite = pausedSource(randomBytes(PART * 3), randomBytes(10));
    const rewritingOld = objects.write('snap/old', rewrite.source);
    await Promise.all([fresh.reachedPause, rewrite.reachedPause]);

    expect(await objects.stat('snap/new')).toBeUndefined();
    await expectAppError(readAll('snap/new'), 'KeyNotFound');
    expect((await objects.list('snap/')).items.map((item) => item.key)).toEqual(['snap/old']);
    expect((await readAll('snap/old')).equals(old)).toBe(true);
    expect((await blobKeys('snap/')).filter((key) => key.includes('.parts/')).length).toBeGreaterThan(2);

    fresh.resume(new Error('writer crashed'));
    await expect(writingNew).rejects.toThrow('writer crashed');
    rewrite.resume();
    const rewritten = await rewritingOld;
    expect((await objects.list('snap/')).items).toEqual([rewritten]);
    // Only the parts of the live manifest remain: the crashed write's and the replaced ones are gone.
    expect((await blobKeys('snap/')).sort()).toEqual(
      ['snap/old', ...rewritten.parts.map((part) => part.key)].sort(),
    );
  });

  it('refuses a part whose bytes were altered with ChecksumMismatch, before yielding them', async () => {
    const manifest = await objects.write('obj', randomBytes(PART * 3));
    const second = manifest.parts[1]!;
    const tampered = Buffer.from((await blobs.get(second.key))!);
    tampered[100] = tampered[100]! ^ 1;
    await blobs.put(second.key, tampered);
    const yielded: Uint8Array[] = [];
    await expectAppError(
      (async () => {
        for await (const chunk of objects.read('obj')) yielded.push(chunk);
      })(),
      'ChecksumMismatch',
    );
    expect(yielded).toHaveLength(1);
  });

  it('refuses a missing part with ChecksumMismatch, but a part removed by a rewrite with VersionConflict', async () => {
    const first = await objects.write('obj', randomBytes(PART * 2));
    await blobs.delete(first.parts[1]!.key);
    await expectAppError(readAll('obj'), 'ChecksumMismatch');

    const second = await objects.write('obj', randomBytes(PART * 2));
    const reader = objects.read('obj')[Symbol.asyncIterator]();
    await reader.next();
    await objects.write('obj', randomBytes(PART * 2));
    await expectAppError(reader.next(), 'VersionConflict');
    expect(await blobs.get(second.parts[1]!.key)).toBeUndefined();
  });

  it('refuses a damaged, foreign or misplaced manifest with ChecksumMismatch, and a newer format with IncompatibleVersion', async () => {
    const manifest = await objects.write('obj', randomBytes(PART + 1));
    const put = (key: string, json: unknown) => blobs.put(key, Buffer.from(JSON.stringify(json)));

    await put('obj', { ...manifest, size: manifest.size + 1 });
    await expectAppError(objects.stat('obj'), 'ChecksumMismatch');
    await put('obj', {
      ...manifest,
      parts: [{ ...manifest.parts[0]!, key: 'elsewhere/secret' }, manifest.parts[1]],
    });
    await expectAppError(objects.stat('obj'), 'ChecksumMismatch');
    await put('copy', manifest);
    await expectAppError(objects.stat('copy'), 'ChecksumMismatch');
    await blobs.put('obj', Buffer.from('{"format": "agentstate.obj'));
    await expectAppError(readAll('obj'), 'ChecksumMismatch');
    await put('obj', { ...manifest, format: 'agentstate.object/2' });
    await expectAppError(objects.stat('obj'), 'IncompatibleVersion');
    // A damaged object can still be replaced and deleted.
    await objects.write('obj', new Uint8Array([1]));
    expect(await objects.delete('obj')).toBe(true);
  });

  it('lists complete objects only, in key order, page by page across blob pages full of parts', async () => {
    // Tiny parts, so the blob listing's pages hold far more parts than manifests.
    const small = createLargeObjectStore(createFolderBlobStore({ root, maxObjectBytes: 64 * 1024 }), {
      partBytes: 1,
    });
    const keys = ['list/e', 'list/a', 'list/c', 'list/b', 'list/d'];
    for (const key of keys) await small.write(key, randomBytes(50)); // 51 blobs per object
    await small.write('list-other/x', randomBytes(1));
    await blobs.put('list/z.parts/stray/00000', new Uint8Array([1]));

    for (const limit of [1, 2, 3, 5, 1000]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await small.list('list/', { limit, ...(cursor === undefined ? {} : { cursor }) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((item) => item.key));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
      expect(seen).toEqual([...keys].sort());
      expect(pages).toBeLessThanOrEqual(Math.ceil(keys.length / limit) + 1);
    }
    await expectAppError(small.list('list/', { cursor: 'not-a-cursor' }), 'InvalidInput');
  });

  it('deletes the manifest, then the parts, answering whether there was an object', async () => {
    const manifest = await objects.write('gone', randomBytes(PART * 2));
    expect(await objects.delete('gone')).toBe(true);
    expect(await objects.stat('gone')).toBeUndefined();
    expect(await blobKeys()).toEqual([]);
    expect(await objects.delete('gone')).toBe(false);
    expect(manifest.parts).toHaveLength(2);
  });

  it('removes the parts written so far when storing a part fails', async () => {
    const failing: BlobStore = {
      ...blobs,
      put: async (key, data) => {
        if (key.endsWith('/00002')) throw new Error('disk full');
        return blobs.put(key, data);
      },
    };
    await expect(
      createLargeObjectStore(failing, { partBytes: PART }).write('obj', randomBytes(PART * 4)),
    ).rejects.toThrow('disk full');
    expect(await blobKeys()).toEqual([]);
  });

  it('refuses an object of more parts than a manifest can list with PayloadTooLarge, leaving nothing behind', async () => {
    await expectAppError(
      createLargeObjectStore(blobs, { partBytes: 1 }).write('many', randomBytes(100)),
      'PayloadTooLarge',
    );
    expect(await blobKeys()).toEqual([]);
  });

  it('refuses keys in the parts namespace, bad part sizes and bad page limits with InvalidInput', async () => {
    await expectAppError(objects.write('a.parts/b', new Uint8Array()), 'InvalidInput');
    await expectAppError(objects.stat('x/y.parts'), 'InvalidInput');
    await expectAppError(objects.write('k'.repeat(1000), new Uint8Array()), 'InvalidInput');
    await expectAppError(objects.list('', { limit: 0 }), 'InvalidInput');
    for (const partBytes of [0, 4097, 1.5]) {
      expect(() => createLargeObjectStore(blobs, { partBytes })).toThrow(/partBytes/);
    }
  });
});
