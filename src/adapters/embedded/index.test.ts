import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedAdapters } from './index.ts';

let dataDir: string;
beforeEach(async () => {
  dataDir = join(await mkdtemp(join(tmpdir(), 'agentstate-data-')), 'data');
});
afterEach(async () => rm(join(dataDir, '..'), { recursive: true, force: true }));

describe('createEmbeddedAdapters', () => {
  it('keeps everything under dataDir, creating it on init', async () => {
    const { kv, blobs, bus, secrets } = createEmbeddedAdapters({
      dataDir,
      env: { AGENTSTATE_SECRET_K: 'v' },
    });
    for (const port of [kv, blobs, bus, secrets]) await port.init();
    await kv.save('k', 1);
    await blobs.put('b', new Uint8Array([1]));
    expect(await secrets.get('k')).toBe('v');
    expect((await readdir(dataDir)).sort()).toEqual(expect.arrayContaining(['blobs', 'kv.sqlite']));
    expect([kv.traits.name, blobs.name, bus.name, secrets.name]).toEqual([
      'embedded-sqlite',
      'embedded-folder',
      'embedded-memory',
      'embedded-env-file',
    ]);
    for (const port of [kv, blobs, bus, secrets]) await port.close();
  });

  it('serves secrets from dataDir/secrets.json when it exists', async () => {
    const { kv } = createEmbeddedAdapters({ dataDir, env: {} });
    await kv.init(); // creates dataDir
    await kv.close();
    await writeFile(join(dataDir, 'secrets.json'), JSON.stringify({ 'vault-key': 'from file' }));
    const { secrets } = createEmbeddedAdapters({ dataDir, env: {} });
    await secrets.init();
    expect(await secrets.get('vault-key')).toBe('from file');
  });
});
