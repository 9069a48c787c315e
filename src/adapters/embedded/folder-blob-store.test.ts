import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../ports/blob-store.ts';
import { expectAppError } from '../../testing/conformance/assertions.ts';
import { createFolderBlobStore } from './folder-blob-store.ts';

let root: string;
let blobs: BlobStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentstate-blobs-'));
  blobs = createFolderBlobStore({ root });
  await blobs.init();
});
afterEach(async () => rm(root, { recursive: true, force: true }));

async function listAll(prefix: string, limit: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await blobs.list(prefix, { limit, ...(cursor === undefined ? {} : { cursor }) });
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return keys;
}

describe('createFolderBlobStore', () => {
  it('never lists or serves temporary files, including those a crashed put left behind', async () => {
    await blobs.put('snapshots/s1/latest.json', Buffer.from('{}'));
    await writeFile(join(root, '.0d1f.tmp'), 'torn');
    await writeFile(join(root, 'snapshots', 's1', '.9a7c.tmp'), 'torn');
    expect((await blobs.list('')).keys).toEqual(['snapshots/s1/latest.json']);
    expect(await blobs.get('.0d1f.tmp')).toBeUndefined();
  });

  it('leaves no temporary file behind after a put', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => blobs.put('same/key', Buffer.from(`version ${i}`))),
    );
    expect(await readdir(join(root, 'same'))).toEqual(['key=']);
    expect(Buffer.from((await blobs.get('same/key'))!).toString()).toMatch(/^version \d+$/);
  });

  it('keeps an object and the objects below its key apart, as object stores do', async () => {
    await blobs.put('a', Buffer.from('parent'));
    await blobs.put('a/b', Buffer.from('child'));
    await blobs.put('a.parts/x', Buffer.from('sibling'));
    expect(Buffer.from((await blobs.get('a'))!).toString()).toBe('parent');
    expect(Buffer.from((await blobs.get('a/b'))!).toString()).toBe('child');
    expect((await blobs.list('a')).keys).toEqual(['a', 'a.parts/x', 'a/b']);
    expect(await blobs.delete('a')).toBe(true);
    expect(Buffer.from((await blobs.get('a/b'))!).toString()).toBe('child');
  });

  it('stores keys no file name could hold as is: 1024 bytes in one segment, escapes, leading dots', async () => {
    const keys = [
      'x'.repeat(1024),
      `long/${'ü'.repeat(509)}`,
      'odd/100%=+',
      'odd/%3D',
      'odd/=',
      'odd/.hidden',
      'odd/..twice',
      'odd/.../x',
      'odd/ключ 🙂',
    ];
    for (const [i, key] of keys.entries()) await blobs.put(key, Buffer.from([i]));
    for (const [i, key] of keys.entries()) expect([...(await blobs.get(key))!]).toEqual([i]);
    expect(await listAll('', 2)).toEqual([...keys].sort(compareUtf8));
    expect(await listAll('odd/.', 2)).toEqual(['odd/.../x', 'odd/..twice', 'odd/.hidden']);
  });

  it('lists in UTF-8 byte order, which is not JavaScript string order', async () => {
    // U+1F642 is a surrogate pair (0xD83D...) but F0 in UTF-8; U+FFFD is EF BF BD.
    const keys = ['k/\u{1F642}', 'k/\uFFFD', 'k/z'];
    for (const key of keys) await blobs.put(key, new Uint8Array([1]));
    expect((await blobs.list('k/')).keys).toEqual(['k/z', 'k/\uFFFD', 'k/\u{1F642}']);
  });

  it('pages by cursor without repeating or skipping keys written in between', async () => {
    for (const key of ['p/1', 'p/3', 'p/5']) await blobs.put(key, new Uint8Array([1]));
    const first = await blobs.list('p/', { limit: 2 });
    expect(first.keys).toEqual(['p/1', 'p/3']);
    await blobs.put('p/2', new Uint8Array([1]));
    await blobs.put('p/4', new Uint8Array([1]));
    expect((await blobs.list('p/', { limit: 10, cursor: first.cursor! })).keys).toEqual(['p/4', 'p/5']);
  });

  it('removes folders a delete leaves empty, and only those', async () => {
    await blobs.put('a/b/c/one', new Uint8Array([1]));
    await blobs.put('a/two', new Uint8Array([2]));
    await blobs.delete('a/b/c/one');
    expect(await readdir(join(root, 'a'))).toEqual(['two=']);
    await blobs.delete('a/two');
    expect(await readdir(root)).toEqual([]);
  });

  it('completes a put into a folder that a concurrent delete is removing', async () => {
    // Each delete empties and removes `race/a/b/`, which the other writer's put needs.
    const writer = async (name: string) => {
      for (let i = 0; i < 200; i++) {
        await blobs.put(`race/a/b/${name}`, new Uint8Array([i]));
        await blobs.delete(`race/a/b/${name}`);
      }
      await blobs.put(`race/a/b/${name}`, new Uint8Array([1]));
    };
    // allSettled: a failed writer must not leave the others racing the folder's removal.
    const results = await Promise.allSettled([writer('x'), writer('y'), writer('z')]);
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(await listAll('race/', 10)).toEqual(['race/a/b/x', 'race/a/b/y', 'race/a/b/z']);
  });

  it('refuses invalid prefixes and page limits with InvalidInput', async () => {
    await expectAppError(blobs.list('../'), 'InvalidInput');
    await expectAppError(blobs.list('a//'), 'InvalidInput');
    await expectAppError(blobs.list('a/', { limit: 0 }), 'InvalidInput');
  });

  it('answers IoError when the folder cannot be written', async () => {
    await writeFile(join(root, 'file'), 'not a folder');
    const store = createFolderBlobStore({ root: join(root, 'file', 'blobs') });
    await expectAppError(store.init(), 'IoError');
    await expectAppError(store.put('x', new Uint8Array([1])), 'IoError');
  });
});

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
