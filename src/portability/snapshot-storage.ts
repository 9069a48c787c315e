import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { idSchema } from '../core/identity/caller.ts';
import { parseInput } from '../core/parse-input.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { decodeDocument } from './portable-document.ts';
import { SNAPSHOT_ID_PATTERN } from './snapshot-id.ts';
import { sessionSnapshotFormat, type SessionSnapshot } from './session-snapshot.ts';

/** Where a session's snapshots live: the session and the scope (the agent) within it. */
export interface SnapshotLocation {
  readonly sessionId: string;
  readonly scopeId: string;
}

export const snapshotManifestSchema = z.strictObject({
  manifest_version: z.literal(1),
  tenant_id: z.string(),
  session_id: z.string(),
  scope_id: z.string(),
  latest_snapshot_id: z.string().regex(SNAPSHOT_ID_PATTERN),
  updated_at: z.iso.datetime(),
});
export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;

export interface SnapshotListOptions {
  readonly location: SnapshotLocation;
  /** @default 100, at most 1000 */
  readonly limit?: number;
  /** Answer ids after this one: the `nextToken` of the previous page. */
  readonly startAfter?: string;
}

export interface SnapshotIdPage {
  /** Oldest first (ids are UUIDv7, `snapshot-id.ts`). */
  readonly snapshotIds: string[];
  /** Present when more ids follow: pass it as `startAfter`. */
  readonly nextToken?: string;
}

/**
 * Session snapshot storage (spec/004) on the blob port, with exactly this layout:
 * ```
 * sessions/<session_id>/scopes/agent/<scope_id>/snapshots/
 *   snapshot_latest.json
 *   manifest.json
 *   immutable_history/snapshot_<uuid>.json
 * ```
 * A save writes the immutable copy first, then `snapshot_latest.json` (with
 * `isLatest`), then the manifest; each `put` is whole or absent, so a save cut short
 * leaves no half snapshot, and listing names only complete immutable copies. Loads
 * verify the snapshot's version and checksum (`decodeDocument`).
 */
export interface SnapshotStorage {
  saveSnapshot(params: {
    location: SnapshotLocation;
    snapshotId: string;
    isLatest: boolean;
    snapshot: SessionSnapshot;
  }): Promise<void>;
  /** The snapshot `snapshotId`, or the latest without it; `SnapshotNotFound` if absent. */
  loadSnapshot(params: { location: SnapshotLocation; snapshotId?: string }): Promise<SessionSnapshot>;
  /** Snapshot ids of the location, one page at a time. */
  listSnapshots(options: SnapshotListOptions): Promise<SnapshotIdPage>;
  /** The manifest; `SnapshotNotFound` if the location has none. */
  loadManifest(params: { location: SnapshotLocation }): Promise<SnapshotManifest>;
  saveManifest(params: { location: SnapshotLocation; manifest: SnapshotManifest }): Promise<void>;
}

const locationSchema = z.strictObject({ sessionId: idSchema, scopeId: idSchema });
const snapshotIdSchema = z.string().regex(SNAPSHOT_ID_PATTERN, 'must be a lowercase UUID');
const MAX_LIST_LIMIT = 1000;

export function snapshotPaths(location: SnapshotLocation) {
  const { sessionId, scopeId } = parseInput(locationSchema, location, 'snapshot location');
  const base = `sessions/${sessionId}/scopes/agent/${scopeId}/snapshots`;
  return {
    base,
    latest: `${base}/snapshot_latest.json`,
    manifest: `${base}/manifest.json`,
    historyPrefix: `${base}/immutable_history/snapshot_`,
    history: (id: string) => `${base}/immutable_history/snapshot_${id}.json`,
  };
}

export function createSnapshotStorage(blobs: BlobStore): SnapshotStorage {
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  async function read(key: string, what: string): Promise<unknown> {
    const bytes = await blobs.get(key);
    if (bytes === undefined)
      throw new AppError('SnapshotNotFound', `no ${what} at ${key}`, { details: { key } });
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      throw new AppError('ChecksumMismatch', `the ${what} at ${key} is not valid JSON`, { cause: error });
    }
  }

  return {
    async saveSnapshot({ location, snapshotId, isLatest, snapshot }) {
      const paths = snapshotPaths(location);
      parseInput(snapshotIdSchema, snapshotId, 'snapshot id');
      const bytes = encode(snapshot);
      if (bytes.byteLength > blobs.limits.maxObjectBytes)
        throw new AppError(
          'PayloadTooLarge',
          `the snapshot is ${bytes.byteLength} bytes; the blob store takes at most ${blobs.limits.maxObjectBytes}`,
        );
      await blobs.put(paths.history(snapshotId), bytes);
      if (isLatest) await blobs.put(paths.latest, bytes);
    },

    async loadSnapshot({ location, snapshotId }) {
      const paths = snapshotPaths(location);
      if (snapshotId !== undefined) parseInput(snapshotIdSchema, snapshotId, 'snapshot id');
      const key = snapshotId === undefined ? paths.latest : paths.history(snapshotId);
      return decodeDocument(sessionSnapshotFormat, await read(key, 'snapshot'));
    },

    async listSnapshots({ location, limit = 100, startAfter }) {
      const paths = snapshotPaths(location);
      parseInput(z.number().int().min(1).max(MAX_LIST_LIMIT), limit, 'limit');
      if (startAfter !== undefined) parseInput(snapshotIdSchema, startAfter, 'startAfter');
      const ids: string[] = [];
      let cursor: string | undefined;
      // One id past the page tells whether another page follows.
      do {
        const page = await blobs.list(paths.historyPrefix, cursor === undefined ? {} : { cursor });
        for (const key of page.keys) {
          const id = key.slice(paths.historyPrefix.length, -'.json'.length);
          if (!SNAPSHOT_ID_PATTERN.test(id) || !key.endsWith('.json')) continue;
          if (startAfter !== undefined && id <= startAfter) continue;
          ids.push(id);
          if (ids.length > limit) break;
        }
        cursor = page.cursor;
      } while (cursor !== undefined && ids.length <= limit);
      const snapshotIds = ids.slice(0, limit);
      const last = snapshotIds[snapshotIds.length - 1];
      return ids.length > limit && last !== undefined ? { snapshotIds, nextToken: last } : { snapshotIds };
    },

    async loadManifest({ location }) {
      const paths = snapshotPaths(location);
      const value = await read(paths.manifest, 'snapshot manifest');
      const parsed = snapshotManifestSchema.safeParse(value);
      if (!parsed.success)
        throw new AppError('ChecksumMismatch', `the snapshot manifest at ${paths.manifest} is damaged`, {
          cause: parsed.error,
        });
      return parsed.data;
    },

    async saveManifest({ location, manifest }) {
      const paths = snapshotPaths(location);
      await blobs.put(
        paths.manifest,
        encode(parseInput(snapshotManifestSchema, manifest, 'snapshot manifest')),
      );
    },
  };
}
