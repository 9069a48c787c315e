import type { KvStore } from '../../ports/kv-store.ts';
import type { LargeObjectStore } from '../../storage/large-object-store.ts';
import { AppError, isAppError } from '../errors.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';
import {
  systemSnapshotIdSchema,
  systemSnapshotSchema,
  type SnapshotSummary,
  type SystemSnapshot,
} from './system-snapshot.ts';

/**
 * A tenant's system snapshots: JSON documents on the blob port at
 * `system-snapshots/<tenant>/<snapshot_id>` (as large objects, so a snapshot that did
 * not finish has no manifest and is never listed), with ids made unique by a
 * create-if-absent claim `${tenant}/system-snapshots/<id>` in the KV store, since blob
 * writes have no condition. Retention keeps the newest `retention` complete ones.
 */
export interface SystemSnapshotStore {
  /** A fresh id for a snapshot taken at `at`: `snap-<second>`, then `-001`, `-002`, ... */
  claimId(at: Date): Promise<string>;
  /**
   * Stores the document; answers its summary, whose `timestamp` (as `list`'s) is when
   * it was stored complete, a moment after the document's own capture `timestamp`.
   */
  save(snapshot: SystemSnapshot): Promise<SnapshotSummary>;
  /** Complete snapshots, newest first. */
  list(): Promise<SnapshotSummary[]>;
  /** The snapshot, or `SnapshotNotFound` with the spec's hint. */
  load(id: string): Promise<SystemSnapshot>;
  /** Removes the oldest complete snapshots beyond the retention; answers their ids. */
  prune(): Promise<string[]>;
}

// Claims tried for one second before giving up: far beyond any real rate.
const MAX_PER_SECOND = 999;

export function createSystemSnapshotStore(
  kv: KvStore,
  objects: LargeObjectStore,
  tenant: string,
  { retention = 20 }: { retention?: number } = {},
): SystemSnapshotStore {
  assertValidNamespaceId('tenant', tenant);
  const prefix = `system-snapshots/${tenant}/`;
  const claimKey = (id: string) => `${tenant}/system-snapshots/${id}`;

  async function list(): Promise<SnapshotSummary[]> {
    const found: SnapshotSummary[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await objects
        .list(prefix, cursor === undefined ? {} : { cursor })
        .catch(withSpecHint('Use system.health to check disk space and directory permissions.'));
      for (const item of page.items) {
        const id = item.key.slice(prefix.length);
        if (systemSnapshotIdSchema.safeParse(id).success)
          found.push({ snapshot_id: id, timestamp: item.created_at, size_bytes: item.size });
      }
      if (page.cursor === undefined) break;
      cursor = page.cursor;
    }
    return found.reverse();
  }

  return {
    async claimId(at) {
      const second = `snap-${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
      for (let n = 0; n <= MAX_PER_SECOND; n++) {
        const id = n === 0 ? second : `${second}-${String(n).padStart(3, '0')}`;
        try {
          await kv.save(claimKey(id), { claimed_at: at.toISOString() }, { ifAbsent: true });
          return id;
        } catch (error) {
          if (!isAppError(error, 'VersionConflict')) throw error;
        }
      }
      throw new AppError('IoError', `more than ${MAX_PER_SECOND} snapshots were taken in ${second}`);
    },

    async save(snapshot) {
      const bytes = new TextEncoder().encode(JSON.stringify(snapshot));
      const manifest = await objects
        .write(`${prefix}${snapshot.snapshot_id}`, bytes)
        .catch(withSpecHint('Use system.health to check disk space.'));
      return { snapshot_id: snapshot.snapshot_id, timestamp: manifest.created_at, size_bytes: manifest.size };
    },

    list,

    async load(id) {
      if (!systemSnapshotIdSchema.safeParse(id).success) throw snapshotNotFound(id);
      const chunks: Uint8Array[] = [];
      try {
        for await (const chunk of objects.read(`${prefix}${id}`)) chunks.push(chunk);
      } catch (error) {
        if (isAppError(error, 'KeyNotFound')) throw snapshotNotFound(id);
        throw error;
      }
      const parsed = systemSnapshotSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!parsed.success)
        throw new AppError('IoError', `snapshot ${id} is damaged`, { cause: parsed.error });
      return parsed.data;
    },

    async prune() {
      const expired = (await list()).slice(retention).map((summary) => summary.snapshot_id);
      for (const id of expired) {
        await objects.delete(`${prefix}${id}`);
        await kv.delete(claimKey(id));
      }
      return expired;
    },
  };
}

/** Rethrows an `IoError` of the blob store with the `check_disk` hint the spec gives. */
function withSpecHint(description: string): (error: unknown) => never {
  return (error) => {
    if (!isAppError(error, 'IoError')) throw error;
    throw new AppError('IoError', error.message, {
      cause: error,
      recovery: [{ action: 'check_disk', description }],
    });
  };
}

/** `SnapshotNotFound` with the spec's recovery hint. */
function snapshotNotFound(id: string): AppError {
  return new AppError('SnapshotNotFound', `no system snapshot ${JSON.stringify(id.slice(0, 100))}`, {
    details: { snapshot_id: id.slice(0, 100) },
    recovery: [
      { action: 'list_snapshots', description: 'Use state.snapshot.list to see available snapshots.' },
    ],
  });
}
