import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChecksum } from '../portability/checksum.ts';
import { SESSION_SNAPSHOT_VERSION, type SessionSnapshot } from '../portability/session-snapshot.ts';
import { newSnapshotId } from '../portability/snapshot-id.ts';
import {
  createSnapshotStorage,
  type SnapshotLocation,
  type SnapshotStorage,
} from '../portability/snapshot-storage.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { expectAppError } from './conformance/assertions.ts';
import type { ConformanceTarget } from './conformance/target.ts';

function snapshotOf(location: SnapshotLocation, content: string): SessionSnapshot {
  return withChecksum({
    schema_version: SESSION_SNAPSHOT_VERSION,
    tenant_id: 'acme',
    agent_id: location.scopeId,
    session_id: location.sessionId,
    status: 'active' as const,
    created_at: '2026-06-01T09:00:00.000Z',
    messages: [{ seq: 1, role: 'user' as const, content, timestamp: '2026-06-01T09:00:01.000Z' }],
    events: [],
    event_log_count: 0,
    tags: {},
    source_environment: 'test',
    exported_at: '2026-06-01T09:15:22.000Z',
  });
}

/** Session snapshot storage (spec/004) on one blob store: its exact layout, loads, listing pages. */
export function snapshotStorageSuite(target: ConformanceTarget<BlobStore>): void {
  describe.skipIf(target.skip !== undefined)(
    `snapshot storage: ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`,
    { timeout: 120_000 },
    () => {
      let blobs: BlobStore;
      let storage: SnapshotStorage;
      const newLocation = (): SnapshotLocation => ({ sessionId: randomUUID(), scopeId: 'research-bot' });

      beforeAll(async () => {
        blobs = await target.create();
        await blobs.init();
        storage = createSnapshotStorage(blobs);
      }, target.setupTimeoutMs ?? 180_000);
      afterAll(async () => {
        await blobs?.close();
        await target.destroy?.();
      }, 60_000);

      it('keeps exactly the layout of spec/004 and loads the latest or one by id', async () => {
        const location = newLocation();
        const [first, second] = [newSnapshotId(new Date(1_000)), newSnapshotId(new Date(2_000))];
        await storage.saveSnapshot({
          location,
          snapshotId: first,
          isLatest: true,
          snapshot: snapshotOf(location, 'one'),
        });
        await storage.saveSnapshot({
          location,
          snapshotId: second,
          isLatest: false,
          snapshot: snapshotOf(location, 'two'),
        });
        const manifest = {
          manifest_version: 1 as const,
          tenant_id: 'acme',
          session_id: location.sessionId,
          scope_id: location.scopeId,
          latest_snapshot_id: first,
          updated_at: '2026-06-01T09:15:22.000Z',
        };
        await storage.saveManifest({ location, manifest });

        const base = `sessions/${location.sessionId}/scopes/agent/research-bot/snapshots`;
        const listed = await blobs.list(`sessions/${location.sessionId}/`);
        expect(listed.keys).toEqual([
          `${base}/immutable_history/snapshot_${first}.json`,
          `${base}/immutable_history/snapshot_${second}.json`,
          `${base}/manifest.json`,
          `${base}/snapshot_latest.json`,
        ]);
        expect((await storage.loadSnapshot({ location })).messages[0]?.content).toBe('one');
        expect((await storage.loadSnapshot({ location, snapshotId: second })).messages[0]?.content).toBe(
          'two',
        );
        expect(await storage.loadManifest({ location })).toEqual(manifest);
      });

      it('pages 250 snapshot ids 100 at a time, oldest first, with nextToken', async () => {
        const location = newLocation();
        const snapshot = snapshotOf(location, 'many');
        const ids = Array.from({ length: 250 }, (_, i) => newSnapshotId(new Date(1_700_000_000_000 + i)));
        for (let start = 0; start < ids.length; start += 10)
          await Promise.all(
            ids
              .slice(start, start + 10)
              .map((snapshotId) => storage.saveSnapshot({ location, snapshotId, isLatest: false, snapshot })),
          );
        const pages: Array<{ snapshotIds: string[]; nextToken?: string }> = [];
        let startAfter: string | undefined;
        do {
          const page = await storage.listSnapshots({
            location,
            limit: 100,
            ...(startAfter === undefined ? {} : { startAfter }),
          });
          pages.push(page);
          startAfter = page.nextToken;
        } while (startAfter !== undefined);
        expect(pages.map((page) => page.snapshotIds.length)).toEqual([100, 100, 50]);
        expect(pages.map((page) => page.nextToken)).toEqual([ids[99], ids[199], undefined]);
        expect(pages.flatMap((page) => page.snapshotIds)).toEqual(ids);
        expect((await storage.listSnapshots({ location })).snapshotIds).toEqual(ids.slice(0, 100));
      });

      it('answers SnapshotNotFound for what is not stored, and ChecksumMismatch for a changed blob', async () => {
        const location = newLocation();
        await expectAppError(storage.loadSnapshot({ location }), 'SnapshotNotFound');
        await expectAppError(storage.loadManifest({ location }), 'SnapshotNotFound');
        expect(await storage.listSnapshots({ location })).toEqual({ snapshotIds: [] });
        const id = newSnapshotId();
        await storage.saveSnapshot({
          location,
          snapshotId: id,
          isLatest: true,
          snapshot: snapshotOf(location, 'x'),
        });
        await expectAppError(
          storage.loadSnapshot({ location, snapshotId: newSnapshotId() }),
          'SnapshotNotFound',
        );
        const base = `sessions/${location.sessionId}/scopes/agent/research-bot/snapshots`;
        const bytes = await blobs.get(`${base}/snapshot_latest.json`);
        const text = new TextDecoder().decode(bytes).replace('"x"', '"y"');
        await blobs.put(`${base}/snapshot_latest.json`, new TextEncoder().encode(text));
        await expectAppError(storage.loadSnapshot({ location }), 'ChecksumMismatch');
        expect((await storage.loadSnapshot({ location, snapshotId: id })).messages[0]?.content).toBe('x');
      });

      it('refuses a location or id that could leave the layout', async () => {
        const snapshot = snapshotOf(newLocation(), 'x');
        await expectAppError(
          storage.saveSnapshot({
            location: { sessionId: '../x', scopeId: 'a' },
            snapshotId: newSnapshotId(),
            isLatest: true,
            snapshot,
          }),
          'InvalidInput',
        );
        await expectAppError(
          storage.saveSnapshot({
            location: newLocation(),
            snapshotId: '../../escape',
            isLatest: true,
            snapshot,
          }),
          'InvalidInput',
        );
        await expectAppError(
          storage.listSnapshots({ location: newLocation(), startAfter: 'not-an-id' }),
          'InvalidInput',
        );
      });
    },
  );
}
