import type { Limits } from '../config.ts';
import type { BulkItem, BulkLoadResult } from '../core/engine/bulk-load.ts';
import type { PersistentState } from '../core/state/persistent-state.ts';
import type { KvStore } from '../ports/kv-store.ts';
import { restoreSessionImage, type SessionImage } from './session-restore.ts';
import type { ExportedKey } from './subject-document.ts';

/**
 * The one path by which imports and restores write state. Callers decode, verify and
 * authorize first; the writer only writes, and every write is idempotent, so an import
 * cut short finishes when run again.
 */
export interface StateWriter {
  /** Makes the session exactly the image, under its id (`session-restore.ts`). */
  writeSession(image: SessionImage): Promise<void>;
  /**
   * Loads keys with their retained history into `agent`'s persistent state through the
   * engine's bulk path (`PersistentState.load`): each key commits whole or not at all;
   * versions are kept where they are above what the key had, else renumbered above it,
   * so a key never gets a version lower than one it had; a key already holding its
   * image is left alone.
   */
  writePersistentKeys(tenant: string, agent: string, keys: readonly ExportedKey[]): Promise<BulkLoadResult>;
}

export interface StateWriterOptions {
  readonly kv: KvStore;
  readonly persistent: (tenant: string, agent: string) => PersistentState;
  readonly limits: Pick<Limits, 'sessionIdleTimeoutSeconds' | 'sessionMaxLifetimeSeconds'>;
}

export function createStateWriter(options: StateWriterOptions): StateWriter {
  const { kv, persistent, limits } = options;
  const lifetime = {
    idleTimeoutSeconds: limits.sessionIdleTimeoutSeconds,
    maxLifetimeSeconds: limits.sessionMaxLifetimeSeconds,
  };
  return {
    writeSession: (image) => restoreSessionImage(kv, lifetime, image),
    writePersistentKeys: (tenant, agent, keys) =>
      persistent(tenant, agent).load(keys.map(bulkItemOf), { preserveVersions: true }),
  };
}

/** An exported key as the engine loads it: its newest version, and the older ones as history. */
export function bulkItemOf({ key, versions }: ExportedKey): BulkItem {
  const newest = versions[versions.length - 1];
  if (newest === undefined) throw new Error(`key ${JSON.stringify(key)} has no versions`);
  return {
    key,
    value: newest.value,
    version: newest.version,
    created_at: newest.created_at,
    updated_at: newest.updated_at,
    history: versions
      .slice(0, -1)
      .map(({ value, created_at, updated_at }) => ({ value, created_at, updated_at })),
  };
}
