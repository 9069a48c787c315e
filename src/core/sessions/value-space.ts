import type { KvStore } from '../../ports/kv-store.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
import { createVersionedRecords, type VersionedRecords } from '../engine/versioned-records.ts';
import { sessionQuotaExceeded } from './session-errors.ts';
import type { ValueKeys } from './session-keys.ts';
import { deleteMany } from './store-batches.ts';

/**
 * One generation of a session's key-values: the engine's versioned records with no
 * history, on a store whose saves expire with the session.
 */
export interface ValueSpace {
  readonly records: VersionedRecords;
  /**
   * Counts the live keys and deletes their heads and the usage shards, for a generation
   * nobody uses any more. Tombstones and the index are left to expire with the session.
   */
  purge(): Promise<number>;
}

const PAGE = 1000;

export function openValueSpace(
  kv: KvStore,
  keys: ValueKeys,
  quotaBytes: number,
  runtime: EngineRuntime,
): ValueSpace {
  const records = createVersionedRecords(kv, {
    namespace: keys.namespace,
    retention: 1,
    quotaBytes,
    exceeded: sessionQuotaExceeded,
    runtime,
  });
  return {
    records,
    async purge() {
      let live = 0;
      let after: string | undefined;
      do {
        const page = await records.list({ prefix: '', limit: PAGE, after });
        live += page.heads.length;
        await deleteMany(
          kv,
          page.heads.map((head) => keys.value(head.key)),
        );
        after = page.cursor;
      } while (after !== undefined);
      // This worker's usage of the generation is applied first (it waits a moment to
      // apply many writes at once): applied after the shards are deleted, it would write
      // them again.
      await records.usage();
      await deleteMany(kv, keys.usageShards);
      return live;
    },
  };
}
