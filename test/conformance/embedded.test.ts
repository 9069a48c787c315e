import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnvFileSecretSource } from '../../src/adapters/embedded/env-file-secret-source.ts';
import { createFolderBlobStore } from '../../src/adapters/embedded/folder-blob-store.ts';
import { createMemoryBroker } from '../../src/adapters/embedded/memory-broker.ts';
import { createMemoryEventBus } from '../../src/adapters/embedded/memory-event-bus.ts';
import { createSqliteKvStore } from '../../src/adapters/embedded/sqlite-kv-store.ts';
import {
  blobStoreConformance,
  CONFORMANCE_SECRETS,
  eventBusConformance,
  kvStoreConformance,
  secretSourceConformance,
} from '../../src/testing/conformance/index.ts';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agentstate-embedded-'));
  dirs.push(dir);
  return dir;
};
const removeDirs = async () =>
  void (await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))));

kvStoreConformance({
  name: 'embedded',
  create: async () => createSqliteKvStore({ path: join(await tempDir(), 'kv.sqlite') }),
  destroy: removeDirs,
});

blobStoreConformance({
  name: 'embedded',
  create: async () => createFolderBlobStore({ root: await tempDir() }),
  destroy: removeDirs,
});

eventBusConformance({
  name: 'embedded',
  create: async () => {
    const broker = createMemoryBroker({ retryDelayMs: 50 });
    return [createMemoryEventBus({ broker }), createMemoryEventBus({ broker })];
  },
});

secretSourceConformance({
  name: 'embedded',
  create: async () => {
    const file = join(await tempDir(), 'secrets.json');
    await writeFile(file, JSON.stringify(CONFORMANCE_SECRETS));
    return createEnvFileSecretSource({ env: {}, file });
  },
  createUnavailable: async () =>
    createEnvFileSecretSource({ env: {}, file: join(await tempDir(), 'missing', 'secrets.json') }),
  destroy: removeDirs,
});
