import { randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../core/errors.ts';
import type { AuditTrail } from '../core/state/shared-audit.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { KvStore } from '../ports/kv-store.ts';
import { createBackupArchive, type BackupArchive } from './backup-archive.ts';
import { collectAbandonedData } from './abandoned-parts.ts';
import { exportBackupFile } from './backup-export.ts';
import { newBackupId } from './backup-ids.ts';
import { createBackupJobs, type JobRecorder } from './backup-jobs.ts';
import type { BackupManifest } from './backup-manifest.ts';
import { loadRecords } from './backup-restore.ts';
import type {
  BackupCreateResult,
  BackupExportResult,
  BackupJob,
  BackupListResult,
  BackupRestoreResult,
  BackupVerifyResult,
} from './backup-schemas.ts';
import { recordsOf, type BackupSource } from './backup-source.ts';
import type { StateRecord } from './backup-records.ts';
import {
  inTenantOrder,
  isPlatformOperator,
  loadPlatformRecords,
  platformRecordsOf,
  type PlatformOptions,
} from './platform-backups.ts';
import type { Vault } from './vault.ts';

export interface BackupsOptions {
  readonly blobs: BlobStore;
  /** Where the status records of backup jobs are kept. */
  readonly kv: KvStore;
  readonly vault: Vault;
  /** The state of one tenant that backups read and restores write. */
  readonly source: (tenant: string) => BackupSource;
  /** The platform operator, whose full backup holds every tenant; none by default. */
  readonly platform?: PlatformOptions;
  /** Complete backups kept per tenant; older ones are removed after a new one succeeded. @default 7 */
  readonly retention?: number;
  /** Plaintext bytes per encrypted chunk. @default 1 MiB */
  readonly chunkBytes?: number;
  /** Whether each new backup is read back and checked in full after it was written. @default true */
  readonly verifyAfterBackup?: boolean;
  /** How often a running job refreshes its status record. @default 5000 */
  readonly heartbeatMs?: number;
  /** Told of each successful backup and verification, for `/metrics`. */
  readonly observe?: (event: { kind: 'backup' | 'verify'; scope: string; at: Date }) => void;
  /** The audit trail of a tenant, where every create, restore and export is recorded with its outcome. */
  readonly audit: (tenant: string) => AuditTrail;
  /** Told of failures of background jobs, which have no caller to answer. */
  readonly report?: (what: string, error: unknown) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Encrypted backups of a tenant's agents' persistent state and its shared state
 * (spec/000 `state.backup.*`). Every operation stays within the caller's tenant, except
 * that a platform operator's full backup holds every tenant, and only a platform
 * operator sees, restores or exports it; who may run an operation at all is the
 * capability invoker's decision (permission classes).
 */
export interface Backups {
  /**
   * Starts a backup of one agent or of everything (`full`) and answers at once with
   * its id; `status` follows it. `VaultLocked` (nothing written) if there is no key.
   */
  create(caller: Caller, agent?: string): Promise<BackupCreateResult>;
  /** A job's status; `BackupNotFound` if there is none in the caller's tenant. */
  status(caller: Caller, backupId: string): Promise<BackupJob>;
  /** Complete backups, newest first. */
  list(caller: Caller): Promise<BackupListResult>;
  /**
   * Checks the backup end to end, takes a safety backup of what it will overwrite,
   * then overwrites. `DecryptionFailed` or `VaultLocked` before anything is written.
   */
  restore(caller: Caller, backupId: string, agent?: string): Promise<BackupRestoreResult>;
  /** Writes the encrypted backup, self-contained, to a file on this worker's file system. */
  export(caller: Caller, backupId: string, path: string): Promise<BackupExportResult>;
  /** Checks every chunk (100) or a sample of parts of a backup (`latest`: the newest); `DecryptionFailed` on any damage. */
  verify(caller: Caller, backupId: string, percent: number): Promise<BackupVerifyResult>;
  /** Waits for the jobs this worker started (tests, shutdown). */
  settle(): Promise<void>;
}

/** A job whose status record exists, with the one writer of that record. */
interface StartedJob {
  readonly job: BackupJob;
  readonly recorder: JobRecorder;
}

/** What a backup holds: `scope` of `tenant`, or with `tenants` each of them in full (a platform backup). */
interface Holding {
  readonly tenant: string;
  readonly scope: string;
  readonly tenants?: readonly string[];
}

export function createBackups(options: BackupsOptions): Backups {
  const {
    blobs,
    vault,
    source,
    audit,
    platform,
    retention = 7,
    verifyAfterBackup = true,
    heartbeatMs = 5000,
    observe = () => undefined,
    report = () => undefined,
    now = () => new Date(),
  } = options;
  const archive: BackupArchive = createBackupArchive(blobs, vault, {
    ...(options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes }),
  });
  const jobs = createBackupJobs(options.kv, heartbeatMs * 6, now);
  const running = new Set<Promise<void>>();

  // What happened to the backup, beside the gate's record of the call (`approval-desk.ts`):
  // a create's job ends after its call answered, and only this record names the backup.
  type AuditedAction = 'backup.created' | 'backup.restored' | 'backup.exported';

  /**
   * Records that `caller` ran `action` on `backupId` and how it ended, in the audit trail
   * of `tenant` (the caller's own unless a platform restore overwrote another's); never
   * fails the action.
   */
  async function record(
    caller: Caller,
    action: AuditedAction,
    backupId: string,
    { error, tenant = caller.tenant }: { error?: unknown; tenant?: string } = {},
  ): Promise<void> {
    const outcome = error === undefined ? 'ok' : isAppError(error) ? error.code : 'Internal';
    await audit(tenant)
      .write([
        {
          id: randomUUID(),
          tenant,
          at: now().toISOString(),
          agent: caller.principal,
          action,
          permission: 'approval_required',
          outcome,
          details: {
            backup_id: backupId,
            ...(tenant === caller.tenant ? {} : { platform_tenant: caller.tenant }),
          },
        },
      ])
      .catch((auditError: unknown) => report(`audit of ${action} ${backupId}`, auditError));
  }

  /** Runs `run`, auditing its outcome, success or error. */
  async function audited<T>(
    caller: Caller,
    action: AuditedAction,
    backupId: string,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await run();
      await record(caller, action, backupId);
      return result;
    } catch (error) {
      await record(caller, action, backupId, { error });
      throw error;
    }
  }

  async function manifestOf(caller: Caller, backupId: string): Promise<BackupManifest> {
    const manifest = await archive.manifest(backupId);
    // Another tenant's backup is as absent as a missing one.
    if (manifest === undefined || manifest.tenant !== caller.tenant) throw backupNotFound(backupId);
    if (manifest.tenants !== undefined && !isPlatformOperator(caller, platform))
      throw new AppError(
        'Forbidden',
        `backup ${backupId} holds every tenant: only a platform operator may use it`,
      );
    return manifest;
  }

  /** The caller's tenant's complete backups, newest first; a platform backup is the platform operator's alone. */
  async function visible(caller: Caller): Promise<BackupManifest[]> {
    return (await archive.list(caller.tenant)).filter(
      (manifest) => manifest.tenants === undefined || isPlatformOperator(caller, platform),
    );
  }

  /** The backup's records; a platform backup's checked to name its tenants in order. */
  function recordsIn(manifest: BackupManifest): AsyncIterable<StateRecord> {
    const records = archive.read(manifest);
    return manifest.tenants === undefined
      ? records
      : inTenantOrder(manifest.backup_id, manifest.tenants, records);
  }

  /**
   * Writes a backup of `scope` now, then runs `check` on it (the read-back); the job
   * record is refreshed all along, since a read-back of a large backup takes minutes too.
   */
  async function backUp(
    { tenant, scope, tenants }: Holding,
    { job, recorder }: StartedJob,
    check: (manifest: BackupManifest) => Promise<void> = async () => undefined,
  ): Promise<BackupManifest> {
    let written = 0;
    // A status write that fails only delays what a follower sees.
    const refresh = () =>
      void recorder
        .save({ ...job, updated_at: now().toISOString(), file_size_bytes: written })
        .catch(() => undefined);
    // On a timer, not per chunk: gathering a chunk's worth of compressed state may take long.
    const heartbeat = setInterval(refresh, heartbeatMs);
    heartbeat.unref();
    let manifest: BackupManifest;
    try {
      manifest = await archive.write({
        backupId: job.backup_id,
        tenant,
        scope,
        ...(tenants === undefined ? {} : { tenants }),
        createdAt: new Date(job.created_at),
        records:
          tenants === undefined ? recordsOf(source(tenant), scope) : platformRecordsOf(source, tenants),
        progress: (bytes) => {
          // The first bytes refresh the record at once, so a follower sees the job move.
          const first = written === 0;
          written += bytes;
          if (first) refresh();
        },
      });
      observe({ kind: 'backup', scope, at: now() });
      await check(manifest);
    } finally {
      clearInterval(heartbeat);
    }
    return manifest;
  }

  async function runJob(caller: Caller, scope: string, started: StartedJob): Promise<void> {
    const { job, recorder } = started;
    const tenant = caller.tenant;
    try {
      const holding: Holding =
        platform !== undefined && scope === 'full' && isPlatformOperator(caller, platform)
          ? { tenant, scope, tenants: await listed(platform.tenants()) }
          : { tenant, scope };
      const manifest = await backUp(holding, started, verifyAfterBackup ? verifyNew : undefined);
      await recorder.save({
        ...job,
        status: 'complete',
        updated_at: now().toISOString(),
        file_size_bytes: manifest.file_size_bytes,
      });
    } catch (error) {
      report(`backup ${job.backup_id}`, error);
      await record(caller, 'backup.created', job.backup_id, { error });
      await recorder
        .save({
          ...job,
          status: 'failed',
          updated_at: now().toISOString(),
          error: {
            code: isAppError(error) ? error.code : 'Internal',
            message: error instanceof Error ? error.message : String(error),
          },
        })
        .catch((saveError: unknown) => report(`status of backup ${job.backup_id}`, saveError));
      return;
    }
    await record(caller, 'backup.created', job.backup_id);
    // The new backup counts whatever retention does; a failure here only keeps old ones longer.
    await applyRetention(tenant).catch((error: unknown) => report(`retention after ${job.backup_id}`, error));
    await collectAbandonedData(blobs, isKept).catch((error: unknown) =>
      report(`collection of abandoned backup data after ${job.backup_id}`, error),
    );
  }

  /**
   * Whether the data under `backups/<backupId>/` may still be wanted: the backup has a
   * manifest (even a damaged one, which `open` reports), or a job on a live worker is
   * writing it. The data of a job whose worker died is neither.
   */
  async function isKept(backupId: string): Promise<boolean> {
    const manifest = await archive.manifest(backupId).catch(() => 'damaged' as const);
    if (manifest !== undefined) return true;
    return (await jobs.get(backupId))?.status === 'running';
  }

  /** Reads a new backup back in full; one that does not verify is removed, never listed. */
  async function verifyNew(manifest: BackupManifest): Promise<void> {
    try {
      await archive.verify(manifest, 100);
    } catch (error) {
      await archive
        .remove(manifest.backup_id)
        .catch((removeError: unknown) =>
          report(`removal of unverified backup ${manifest.backup_id}`, removeError),
        );
      throw error;
    }
    observe({ kind: 'verify', scope: manifest.scope, at: now() });
  }

  /** Removes the oldest complete backups beyond the retention; only ever after one succeeded. */
  async function applyRetention(tenant: string): Promise<void> {
    const complete = await archive.list(tenant);
    for (const old of complete.slice(retention)) {
      await archive.remove(old.backup_id);
      await jobs.remove(old.backup_id);
    }
  }

  /** A new job's status record, saved: from here on `status` answers for it. */
  async function newJob(tenant: string, scope: string): Promise<StartedJob> {
    const at = now();
    const job: BackupJob = {
      backup_id: newBackupId(at),
      tenant,
      scope,
      status: 'running',
      created_at: at.toISOString(),
      updated_at: at.toISOString(),
      file_size_bytes: 0,
    };
    return { job, recorder: await jobs.create(job) };
  }

  /** The restore itself: checked in full, then a safety backup, then the load. */
  async function restore(
    caller: Caller,
    backupId: string,
    agent: string | undefined,
  ): Promise<BackupRestoreResult> {
    const manifest = await manifestOf(caller, backupId);
    const { tenants } = manifest;
    if (tenants !== undefined && agent !== undefined)
      throw new AppError('InvalidInput', `backup ${backupId} holds every tenant: restore it whole`);
    if (agent !== undefined && manifest.scope !== 'full' && manifest.scope !== `agent:${agent}`)
      throw new AppError(
        'InvalidInput',
        `backup ${backupId} holds ${manifest.scope}, not agent ${JSON.stringify(agent)}`,
      );
    // Read it through once, writing nothing: a backup that does not authenticate to
    // the end overwrites nothing.
    for await (const record of recordsIn(manifest)) void record;
    const scope = agent !== undefined ? `agent:${agent}` : manifest.scope;
    // Retention does not run here: it could remove the very backup being restored.
    const safetyJob = await newJob(caller.tenant, scope);
    const safety = await backUp(
      { tenant: caller.tenant, scope, ...(tenants === undefined ? {} : { tenants }) },
      safetyJob,
    );
    await safetyJob.recorder.save({
      ...safetyJob.job,
      status: 'complete',
      updated_at: now().toISOString(),
      file_size_bytes: safety.file_size_bytes,
    });
    if (tenants !== undefined) {
      const outcome = await loadPlatformRecords(backupId, source, archive.read(manifest), {
        tenants,
        owner: caller.principal,
      });
      // Each tenant's own trail shows who overwrote its state; the platform's has the call.
      for (const tenant of tenants)
        if (tenant !== caller.tenant) await record(caller, 'backup.restored', backupId, { tenant });
      return {
        restored: true,
        agents_restored: [...new Set(outcome.tenants.flatMap(({ agents }) => agents))].sort(),
        shared_state_restored: true,
        safety_backup_id: safety.backup_id,
        tenants_restored: outcome.tenants.map(({ tenant, agents }) => ({ tenant, agents_restored: agents })),
      };
    }
    const outcome = await loadRecords(source(caller.tenant), archive.read(manifest), {
      agent,
      restoresShared: agent === undefined && manifest.scope === 'full',
      owner: caller.principal,
    });
    return {
      restored: true,
      agents_restored: outcome.agents,
      shared_state_restored: outcome.shared,
      safety_backup_id: safety.backup_id,
    };
  }

  return {
    async create(caller, agent) {
      const scope = agent === undefined ? 'full' : `agent:${agent}`;
      // Fail closed, and say so to the caller: no key, no job.
      await vault.current();
      const started = await newJob(caller.tenant, scope);
      const { job } = started;
      const done = runJob(caller, scope, started);
      running.add(done);
      void done.finally(() => running.delete(done));
      return {
        backup_id: job.backup_id,
        created_at: job.created_at,
        file_size_bytes: 0,
        scope,
        status: 'running',
      };
    },

    async status(caller, backupId) {
      const job = await jobs.get(backupId);
      if (job === undefined || job.tenant !== caller.tenant) throw backupNotFound(backupId);
      return job;
    },

    async list(caller) {
      const backups = (await visible(caller)).map((manifest) => ({
        backup_id: manifest.backup_id,
        created_at: manifest.created_at,
        scope: manifest.scope,
        file_size_bytes: manifest.file_size_bytes,
      }));
      return { backups, count: backups.length };
    },

    restore: (caller, backupId, agent) =>
      audited(caller, 'backup.restored', backupId, () => restore(caller, backupId, agent)),

    export: (caller, backupId, path) =>
      audited(caller, 'backup.exported', backupId, async () => {
        const manifest = await manifestOf(caller, backupId);
        return exportBackupFile(manifest, archive.encrypted(manifest), path);
      }),

    async verify(caller, backupId, percent) {
      let manifest: BackupManifest;
      if (backupId === 'latest') {
        const latest = (await visible(caller))[0];
        if (latest === undefined) throw backupNotFound('latest');
        manifest = latest;
      } else manifest = await manifestOf(caller, backupId);
      const checked = await archive.verify(manifest, percent);
      observe({ kind: 'verify', scope: manifest.scope, at: now() });
      return { backup_id: manifest.backup_id, verified: true, sample_percent: percent, ...checked };
    },

    async settle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

/** Every name `names` lists, in memory: the tenants a platform backup holds, which its manifest names. */
async function listed(names: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const name of names) all.push(name);
  return all;
}

/** `BackupNotFound` with the spec's recovery hint. */
export function backupNotFound(backupId: string): AppError {
  return new AppError('BackupNotFound', `there is no backup ${JSON.stringify(backupId)}`, {
    recovery: [{ action: 'list_backups', description: 'Use state.backup.list to see available backups.' }],
  });
}
