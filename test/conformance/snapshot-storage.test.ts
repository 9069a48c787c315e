import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFolderBlobStore } from '../../src/adapters/embedded/folder-blob-store.ts';
import { snapshotStorageSuite } from '../../src/testing/snapshot-storage-suite.ts';

let dir: string | undefined;
snapshotStorageSuite({
  name: 'embedded-folder',
  create: async () =>
    createFolderBlobStore({ root: (dir = await mkdtemp(join(tmpdir(), 'agentstate-snapshots-'))) }),
  destroy: async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  },
});
