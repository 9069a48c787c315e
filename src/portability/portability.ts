import type { StateServices } from '../capabilities/state-services.ts';
import { AppError } from '../core/errors.ts';
import { canAccessAgentScope } from '../core/identity/authorize.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { exportSessionSnapshot, latestSessionId, streamSessionSnapshot } from './session-export.ts';
import { restoreSessionSnapshot, type SessionRestoreReport } from './session-import.ts';
import type { SessionSnapshot } from './session-snapshot.ts';
import type { CheckpointAnswer } from './snapshot-answers.ts';
import { newSnapshotId } from './snapshot-id.ts';
import { createSnapshotStorage, type SnapshotIdPage, type SnapshotLocation } from './snapshot-storage.ts';
import type { StateWriter } from './state-writer.ts';
import { exportSubject } from './subject-export.ts';
import { importSubject, type SubjectImportReport } from './subject-import.ts';

export interface PortabilityOptions {
  readonly services: StateServices;
  readonly writer: StateWriter;
  readonly blobs: BlobStore;
  /** `source_environment` of what this worker exports (`AGENTSTATE_ENVIRONMENT`). */
  readonly environment: string;
}

export interface SessionRef {
  readonly agent: string;
  /** A session id, or `latest` for the agent's newest live session. */
  readonly sessionId: string;
}

/** The `sessionId` of a `SessionRef` that names the agent's newest live session. */
export const LATEST_SESSION = 'latest';

/** The operations of the snapshot and admin surfaces, each authorized for its caller. */
export interface Portability {
  /** The session's snapshot as JSON text, produced a page at a time (`streamSessionSnapshot`). */
  exportSession(
    caller: Caller,
    ref: SessionRef,
    tags?: Record<string, string>,
  ): Promise<AsyncIterable<string>>;
  restoreSession(caller: Caller, snapshot: unknown, dryRun: boolean): Promise<SessionRestoreReport>;
  /** Exports the session into snapshot storage as its latest snapshot; answers the id. */
  checkpoint(caller: Caller, ref: SessionRef, tags?: Record<string, string>): Promise<CheckpointAnswer>;
  listSnapshots(
    caller: Caller,
    ref: SessionRef,
    page: { limit?: number; startAfter?: string },
  ): Promise<SnapshotIdPage>;
  /** A stored snapshot (the latest without `snapshotId`). */
  loadSnapshot(caller: Caller, ref: SessionRef, snapshotId?: string): Promise<SessionSnapshot>;
  /** The subject's export document as JSON text, produced as it is read (`exportSubject`). */
  exportSubject(caller: Caller, subject: string, tenant?: string): Promise<AsyncIterable<string>>;
  importSubject(caller: Caller, body: unknown): Promise<SubjectImportReport>;
}

export function createPortability(options: PortabilityOptions): Portability {
  const { services, writer, blobs, environment } = options;
  const storage = createSnapshotStorage(blobs);
  const location = (ref: SessionRef): SnapshotLocation => ({ sessionId: ref.sessionId, scopeId: ref.agent });

  /** Stored snapshots of another tenant are as absent as missing ones. */
  async function assertStoredInTenant(caller: Caller, ref: SessionRef): Promise<void> {
    canAccessAgentScope(caller, caller.tenant, ref.agent, 'read');
    const manifest = await storage.loadManifest({ location: location(ref) });
    if (manifest.tenant_id !== caller.tenant) throw snapshotsNotFound(ref);
  }

  /** `ref` with `latest` resolved, once the caller may read the agent's sessions. */
  async function resolve(caller: Caller, ref: SessionRef): Promise<SessionRef> {
    if (ref.sessionId !== LATEST_SESSION) return ref;
    canAccessAgentScope(caller, caller.tenant, ref.agent, 'read');
    return {
      agent: ref.agent,
      sessionId: await latestSessionId(services.sessions, caller.tenant, ref.agent),
    };
  }

  const snapshotOf = async (caller: Caller, ref: SessionRef, tags: Record<string, string> = {}) =>
    exportSessionSnapshot(services.sessions, caller, { ...(await resolve(caller, ref)), tags, environment });

  return {
    exportSession: async (caller, ref, tags = {}) =>
      streamSessionSnapshot(services.sessions, caller, {
        ...(await resolve(caller, ref)),
        tags,
        environment,
      }),
    restoreSession: (caller, snapshot, dryRun) =>
      restoreSessionSnapshot(services.sessions, writer, caller, snapshot, dryRun),

    async checkpoint(caller, named, tags) {
      const ref = await resolve(caller, named);
      const snapshot = await snapshotOf(caller, ref, tags);
      const snapshotId = newSnapshotId();
      await storage.saveSnapshot({ location: location(ref), snapshotId, isLatest: true, snapshot });
      await storage.saveManifest({
        location: location(ref),
        manifest: {
          manifest_version: 1,
          tenant_id: caller.tenant,
          session_id: ref.sessionId,
          scope_id: ref.agent,
          latest_snapshot_id: snapshotId,
          updated_at: snapshot.exported_at,
        },
      });
      return { snapshot_id: snapshotId, messages: snapshot.messages.length, events: snapshot.events.length };
    },

    async listSnapshots(caller, named, { limit, startAfter }) {
      const ref = await resolve(caller, named);
      await assertStoredInTenant(caller, ref);
      return storage.listSnapshots({
        location: location(ref),
        ...(limit === undefined ? {} : { limit }),
        ...(startAfter === undefined ? {} : { startAfter }),
      });
    },

    async loadSnapshot(caller, named, snapshotId) {
      const ref = await resolve(caller, named);
      await assertStoredInTenant(caller, ref);
      const snapshot = await storage.loadSnapshot({
        location: location(ref),
        ...(snapshotId === undefined ? {} : { snapshotId }),
      });
      if (snapshot.tenant_id !== caller.tenant) throw snapshotsNotFound(ref);
      return snapshot;
    },

    exportSubject: (caller, subject, tenant = caller.tenant) =>
      exportSubject(
        { persistent: (t, a) => services.persistent(t, a), sessions: services.sessions },
        caller,
        { subject, tenant, environment },
      ),

    importSubject: (caller, body) =>
      importSubject(
        { persistent: (t, a) => services.persistent(t, a), sessions: services.sessions, writer },
        caller,
        body,
      ),
  };
}

function snapshotsNotFound(ref: SessionRef): AppError {
  return new AppError('SnapshotNotFound', `no snapshots of session ${ref.sessionId} of agent ${ref.agent}`);
}
