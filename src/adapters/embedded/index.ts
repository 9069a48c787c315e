import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import type { SecretSource } from '../../ports/secret-source.ts';
import { createEnvFileSecretSource } from './env-file-secret-source.ts';
import { createFolderBlobStore } from './folder-blob-store.ts';
import { createMemoryEventBus } from './memory-event-bus.ts';
import { createSqliteKvStore } from './sqlite-kv-store.ts';

export {
  createEnvFileSecretSource,
  secretEnvName,
  type EnvFileSecretSourceOptions,
} from './env-file-secret-source.ts';
export { createFolderBlobStore, type FolderBlobStoreOptions } from './folder-blob-store.ts';
export { createMemoryBroker, type MemoryBroker, type MemoryBrokerOptions } from './memory-broker.ts';
export { createMemoryEventBus, type MemoryEventBusOptions } from './memory-event-bus.ts';
export { createSqliteKvStore, type SqliteKvStoreOptions } from './sqlite-kv-store.ts';

export interface EmbeddedAdaptersOptions {
  /** Holds `kv.sqlite`, `blobs/` and, if present, `secrets.json`; created on `init()`. */
  readonly dataDir: string;
  /** Read for `AGENTSTATE_SECRET_*` variables. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface EmbeddedAdapters {
  readonly kv: KvStore;
  readonly blobs: BlobStore;
  readonly bus: EventBus;
  readonly secrets: SecretSource;
}

/**
 * The four ports for one process with no sidecar, all under `dataDir`. Nothing is
 * opened here; the caller runs each adapter's `init()`. `secrets.json` is used only if
 * it exists now, so a data folder without one serves secrets from the environment.
 */
export function createEmbeddedAdapters(options: EmbeddedAdaptersOptions): EmbeddedAdapters {
  const { dataDir, env = process.env } = options;
  const secretsFile = join(dataDir, 'secrets.json');
  return {
    kv: createSqliteKvStore({ path: join(dataDir, 'kv.sqlite') }),
    blobs: createFolderBlobStore({ root: join(dataDir, 'blobs') }),
    bus: createMemoryEventBus(),
    secrets: createEnvFileSecretSource({ env, ...(existsSync(secretsFile) ? { file: secretsFile } : {}) }),
  };
}
