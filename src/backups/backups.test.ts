import { randomBytes } from 'node:crypto';
import { defaultLimits } from '../config.ts';
import { mkdir, mkdtemp, readdir, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createEnvFileSecretSource,
  createFolderBlobStore,
  createMemoryEventBus,
  createSqliteKvStore,
} from '../adapters/embedded/index.ts';
import type { StateServices } from '../capabilities/state-services.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Adapters } from '../service/adapters.ts';
import { agentDirectory } from '../core/state/agent-directory.ts';
import { createPersistentState } from '../core/state/persistent-state.ts';
import { createAuditTrail } from '../core/state/shared-audit.ts';
import { createStateServices } from '../service/state-services.ts';
import { expectAppError } from '../testing/conformance/assertions.ts';
import { newBackupId } from './backup-ids.ts';
import { createBackupJobs } from './backup-jobs.ts';
import type { BackupManifest } from './backup-manifest.ts';

// Backups over the embedded adapters: a real SQLite store, a real folder of blobs and
// env secrets. Small chunks and blobs so that a backup has many parts to tamper with.

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const operator: Caller = { tenant: 't1', principal: 'ops', roles: ['operator'], via: 'token' };
const otherTenant: Caller = { tenant: 't2', principal: 'ops', roles: ['operator'], via: 'token' };

let root: string;
let env: NodeJS.ProcessEnv;
let adapters: Adapters;
let services: StateServices;

function open(retention = 7): StateServices {
  return createStateServices(adapters, defaultLimits, { retention, chunkBytes: 256 });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentstate-backups-'));
  env = { AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY: keyA };
  adapters = {
    family: 'embedded',
    kv: createSqliteKvStore({ path: ':memory:' }),
    blobs: createFolderBlobStore({ root: join(root, 'blobs'), maxObjectBytes: 1024 }),
    bus: createMemoryEventBus(),
    secrets: createEnvFileSecretSource({ env }),
  };
  for (const adapter of [adapters.kv, adapters.blobs, adapters.bus, adapters.secrets]) await adapter.init();
  services = open();
});
afterEach(async () => {
  await services.backups.settle();
  await services.shared('t1').settle();
  await services.persistent('t1', 'agent-1').settle();
  for (const adapter of [adapters.kv, adapters.blobs, adapters.bus, adapters.secrets]) await adapter.close();
  await rm(root, { recursive: true, force: true });
});

const noise = () => randomBytes(120).toString('hex');

/** The stored manifest of a backup, as the blob store holds it. */
async function storedManifest(id: string): Promise<BackupManifest> {
  const bytes = await adapters.blobs.get(`backup-manifests/${id}.json`);
  return JSON.parse(Buffer.from(bytes!).toString()) as BackupManifest;
}

/** Two agents with history and some shared keys; answers what a reader sees. */
async function seed() {
  const one = services.persistent('t1', 'agent-1');
  const two = services.persistent('t1', 'agent-2');
  for (let i = 0; i < 6; i++) {
    await one.set(`k${i}`, { n: i, text: noise() });
    await one.set(`k${i}`, { n: i + 100, text: noise() });
  }
  await two.set('plan', ['a', 'b']);
  const shared = services.shared('t1');
  await shared.set('agent-1', 'counter', 1, 0);
  await shared.set('agent-2', 'counter', 2, 1);
  await shared.set('agent-2', 'flag', true, 0);
  return view();
}

/** Everything a reader can see of the tenant's state: values and histories, shared values and writers. */
async function view() {
  const agents: Record<string, unknown> = {};
  for (const agent of ['agent-1', 'agent-2']) {
    const state = services.persistent('t1', agent);
    const keys: Record<string, unknown> = {};
    for (const { key } of (await state.list()).entries) {
      keys[key] = (await state.history(key)).versions.map(({ value, created_at, updated_at }) => ({
        value,
        created_at,
        updated_at,
      }));
    }
    agents[agent] = keys;
  }
  const shared: Record<string, unknown> = {};
  const sharedState = services.shared('t1');
  for (const { key } of (await sharedState.list()).entries) {
    const { value, owner_agent } = await sharedState.get(key);
    shared[key] = { value, owner_agent };
  }
  return { agents, shared };
}

async function backUp(agent?: string): Promise<string> {
  const started = await services.backups.create(operator, agent);
  await services.backups.settle();
  const job = await services.backups.status(operator, started.backup_id);
  expect(job.status, JSON.stringify(job.error)).toBe('complete');
  return started.backup_id;
}

async function change(): Promise<void> {
  const one = services.persistent('t1', 'agent-1');
  await one.set('k0', 'changed');
  await one.delete('k1');
  await one.set('new-key', 'not in the backup');
  await services.shared('t1').set('agent-1', 'counter', 99, 2);
  await services.shared('t1').delete('agent-1', 'flag');
}

async function dataParts(blobs: BlobStore, backupId: string): Promise<string[]> {
  return (await blobs.list(`backups/${backupId}/data.parts/`, { limit: 10_000 })).keys;
}

describe('backups: create, list, restore', () => {
  it('restores exactly what was backed up, versions above any the keys had, and CAS works after', async () => {
    const before = await seed();
    const versionBefore = (await services.persistent('t1', 'agent-1').get('k0')).version;
    const id = await backUp();
    const listed = await services.backups.list(operator);
    expect(listed.count).toBe(1);
    expect(listed.backups[0]).toMatchObject({ backup_id: id, scope: 'full' });
    expect(listed.backups[0]?.file_size_bytes).toBeGreaterThan(2048);
    await change();
    const changedVersion = (await services.persistent('t1', 'agent-1').get('k0')).version;

    const result = await services.backups.restore(operator, id);
    expect(result).toMatchObject({
      restored: true,
      agents_restored: ['agent-1', 'agent-2'],
      shared_state_restored: true,
    });
    expect(result.safety_backup_id).not.toBe(id);
    expect(await view()).toEqual(before);
    const restored = await services.persistent('t1', 'agent-1').get('k0');
    expect(restored.version).toBeGreaterThan(changedVersion);
    expect(restored.version).toBeGreaterThan(versionBefore);

    // A writer holding the version from before the restore loses; one that re-reads wins.
    const shared = services.shared('t1');
    await expectAppError(shared.set('agent-2', 'counter', 3, 3), 'VersionConflict');
    const current = await shared.get('counter');
    expect(current.value).toBe(2);
    expect((await shared.set('agent-2', 'counter', 3, current.version)).version).toBe(current.version + 1);

    const audited = (await createAuditTrail(adapters.kv, 't1').readAll()).filter((r) =>
      r.action.startsWith('backup.'),
    );
    expect(audited.map((r) => [r.action, r.agent, r.details?.['backup_id'], r.outcome])).toEqual([
      ['backup.created', 'ops', id, 'ok'],
      ['backup.restored', 'ops', id, 'ok'],
    ]);

    // The safety backup holds what the restore overwrote.
    expect((await services.backups.list(operator)).backups.map((b) => b.backup_id)).toContain(
      result.safety_backup_id,
    );
  });

  it('backs up and restores one agent, leaving the others and shared state alone', async () => {
    await seed();
    const id = await backUp('agent-1');
    expect((await services.backups.list(operator)).backups[0]?.scope).toBe('agent:agent-1');
    await change();
    await services.persistent('t1', 'agent-2').set('plan', 'changed');
    const result = await services.backups.restore(operator, id);
    expect(result).toMatchObject({ agents_restored: ['agent-1'], shared_state_restored: false });
    expect((await services.persistent('t1', 'agent-2').get('plan')).value).toBe('changed');
    expect((await services.shared('t1').get('counter')).value).toBe(99);
    await expectAppError(services.persistent('t1', 'agent-1').get('new-key'), 'KeyNotFound');
  });

  it('restores one agent from a full backup', async () => {
    const before = await seed();
    const id = await backUp();
    await change();
    const result = await services.backups.restore(operator, id, 'agent-1');
    expect(result).toMatchObject({ agents_restored: ['agent-1'], shared_state_restored: false });
    expect((await view()).agents['agent-1']).toEqual(before.agents['agent-1']);
    expect((await services.shared('t1').get('counter')).value).toBe(99);
  });

  it('lists newest first and keeps only the newest complete backups', async () => {
    services = open(2);
    await seed();
    const first = await backUp();
    const second = await backUp();
    expect((await services.backups.list(operator)).backups.map((b) => b.backup_id)).toEqual([second, first]);
    const third = await backUp();
    expect((await services.backups.list(operator)).backups.map((b) => b.backup_id)).toEqual([third, second]);
    expect(await dataParts(adapters.blobs, first)).toEqual([]);
    // A backup that cannot start removes nothing.
    env['AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY'] = '';
    await expectAppError(services.backups.create(operator), 'VaultLocked');
    expect((await services.backups.list(operator)).count).toBe(2);
  });

  it('finds an agent whose state predates the agent directory once it was active, and keeps it listed', async () => {
    await seed();
    // Written as an agentstate older than the directory did: no directory entry.
    const older = createPersistentState(adapters.kv, {
      tenant: 't1',
      agent: 'old-timer',
      retention: 100,
      quotaBytes: 1024 * 1024,
    });
    await older.set('memory', 'from before the directory');
    await older.settle();
    const missed = await backUp();
    await services.persistent('t1', 'old-timer').delete('memory');
    const restoredBefore = await services.backups.restore(operator, missed);
    expect(restoredBefore.agents_restored).not.toContain('old-timer');

    await older.set('memory', 'from before the directory');
    services.activity.touch('t1', 'old-timer', new Date());
    await services.activity.flush();
    const found = await backUp();
    await services.persistent('t1', 'old-timer').delete('memory');
    expect((await services.backups.restore(operator, found)).agents_restored).toContain('old-timer');
    expect((await services.persistent('t1', 'old-timer').get('memory')).value).toBe(
      'from before the directory',
    );
    const directory: string[] = [];
    for await (const agent of agentDirectory(adapters.kv, 't1').list()) directory.push(agent);
    expect(directory).toContain('old-timer');
  });

  it('keeps a job live while it verifies the backup it wrote, however long that takes', async () => {
    await seed();
    let writing = true;
    const slowReads: BlobStore = {
      ...adapters.blobs,
      async get(key) {
        // The read-back takes many heartbeats; the job must stay live through it.
        if (!writing && key.includes('.parts/')) await new Promise((resolve) => setTimeout(resolve, 400));
        return adapters.blobs.get(key);
      },
      async put(key, data) {
        if (key.startsWith('backup-manifests/')) writing = false;
        return adapters.blobs.put(key, data);
      },
    };
    services = createStateServices({ ...adapters, blobs: slowReads }, defaultLimits, {
      chunkBytes: 256,
      heartbeatMs: 100,
    });
    const { backup_id } = await services.backups.create(operator);
    const seen = new Set<string>();
    for (;;) {
      const { status } = await services.backups.status(operator, backup_id);
      seen.add(status);
      if (status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(writing).toBe(false);
    expect([...seen]).toEqual(['running', 'complete']);
  });

  it("collects the data of a job whose worker died at the next backup, never a running job's", async () => {
    await seed();
    const complete = await backUp();
    const hourAgo = new Date(Date.now() - 3_600_000);
    /** A job record as its worker last wrote it at `at`, with one part of data. */
    async function jobWithData(at: Date): Promise<string> {
      const id = newBackupId(at);
      await createBackupJobs(adapters.kv, 30_000, () => at).create({
        backup_id: id,
        tenant: 't1',
        scope: 'full',
        status: 'running',
        created_at: at.toISOString(),
        updated_at: at.toISOString(),
        file_size_bytes: 1,
      });
      await adapters.blobs.put(`backups/${id}/data.parts/w/00000`, randomBytes(64));
      return id;
    }
    const killed = await jobWithData(hourAgo);
    const running = await jobWithData(new Date());
    expect((await services.backups.status(operator, killed)).status).toBe('failed');

    const next = await backUp();
    expect(await dataParts(adapters.blobs, killed)).toEqual([]);
    expect(await dataParts(adapters.blobs, running)).toHaveLength(1);
    for (const id of [complete, next])
      expect(await services.backups.verify(operator, id, 100)).toMatchObject({ verified: true });
  });

  it('removes a backup that does not read back, marks its job failed and keeps the older ones', async () => {
    await seed();
    const good = await backUp();
    // A store that damages what it is given: the backup is written, then fails its verification.
    const damaging: BlobStore = {
      ...adapters.blobs,
      put: (key, data) => {
        if (!key.includes('.parts/')) return adapters.blobs.put(key, data);
        const copy = Buffer.from(data);
        copy[copy.byteLength - 1] = (copy[copy.byteLength - 1] ?? 0) ^ 0x01;
        return adapters.blobs.put(key, copy);
      },
    };
    services = createStateServices({ ...adapters, blobs: damaging }, defaultLimits, { chunkBytes: 256 });
    const started = await services.backups.create(operator);
    await services.backups.settle();
    const job = await services.backups.status(operator, started.backup_id);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'DecryptionFailed' } });
    expect((await services.backups.list(operator)).backups.map((b) => b.backup_id)).toEqual([good]);
  });

  it('keeps tenants apart: another tenant sees no backup and cannot restore it', async () => {
    await seed();
    const id = await backUp();
    expect((await services.backups.list(otherTenant)).count).toBe(0);
    const error = await expectAppError(services.backups.restore(otherTenant, id), 'BackupNotFound');
    expect(error.recovery).toEqual([
      { action: 'list_backups', description: 'Use state.backup.list to see available backups.' },
    ]);
  });
});

describe('backups: bad input and faults fail safely', () => {
  it('answers BackupNotFound with the spec recovery hint for an unknown id on restore, export and verify', async () => {
    const unknown = 'bkp-20260101T000000000Z-00000000';
    for (const call of [
      () => services.backups.restore(operator, unknown),
      () => services.backups.export(operator, unknown, root),
      () => services.backups.verify(operator, unknown, 100),
      () => services.backups.status(operator, unknown),
    ]) {
      const error = await expectAppError(call(), 'BackupNotFound');
      expect(error.recovery[0]?.action).toBe('list_backups');
    }
  });

  it('answers VaultLocked and writes nothing when the key is missing or the secret store is down', async () => {
    await seed();
    env['AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY'] = '';
    await expectAppError(services.backups.create(operator), 'VaultLocked');
    const down = createEnvFileSecretSource({ env: {}, file: join(root, 'no-such-secrets.json') });
    services = createStateServices({ ...adapters, secrets: down }, defaultLimits, { chunkBytes: 256 });
    await expectAppError(services.backups.create(operator), 'VaultLocked');
    expect((await adapters.blobs.list('', { limit: 100 })).keys).toEqual([]);
  });

  it('restores nothing from a backup whose key the vault does not hold any more, or a wrong key', async () => {
    await seed();
    const id = await backUp();
    await change();
    const changed = await view();
    for (const vault of [keyB, `${keyB}, ${randomBytes(32).toString('base64')}`]) {
      env['AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY'] = vault;
      await expectAppError(services.backups.restore(operator, id), 'DecryptionFailed');
      await expectAppError(services.backups.verify(operator, id, 100), 'DecryptionFailed');
    }
    expect(await view()).toEqual(changed);
    const outcomes = (await createAuditTrail(adapters.kv, 't1').readAll()).map((r) =>
      'outcome' in r ? r.outcome : '',
    );
    expect(outcomes.filter((outcome) => outcome === 'DecryptionFailed')).toHaveLength(2);
    env['AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY'] = '';
    await expectAppError(services.backups.restore(operator, id), 'VaultLocked');
    expect((await services.backups.list(operator)).count).toBe(1);
  });

  it('restores a backup made with an older key after a new key was added (rotation)', async () => {
    const before = await seed();
    const old = await backUp();
    env['AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY'] = `${keyB},${keyA}`;
    const newer = await backUp();
    expect((await storedManifest(old)).key_id).not.toBe((await storedManifest(newer)).key_id);
    await change();
    await services.backups.restore(operator, old);
    expect(await view()).toEqual(before);
  });

  describe('a tampered backup is DecryptionFailed from verify and restore, and nothing is overwritten', () => {
    let id: string;
    let changed: Awaited<ReturnType<typeof view>>;
    beforeEach(async () => {
      await seed();
      id = await backUp();
      await change();
      changed = await view();
    });

    async function expectRefused(): Promise<void> {
      await expectAppError(services.backups.verify(operator, id, 100), 'DecryptionFailed');
      await expectAppError(services.backups.restore(operator, id), 'DecryptionFailed');
      expect(await view()).toEqual(changed);
      // No safety backup either: the restore stopped before it took one.
      expect((await services.backups.list(operator)).count).toBe(1);
    }

    it('one flipped byte, in each part in turn', async () => {
      const parts = await dataParts(adapters.blobs, id);
      expect(parts.length).toBeGreaterThan(2);
      for (const part of parts) {
        const bytes = Buffer.from((await adapters.blobs.get(part))!);
        const at = Math.floor(bytes.byteLength / 2);
        bytes[at] = (bytes[at] ?? 0) ^ 0x01;
        await adapters.blobs.put(part, bytes);
        await expectRefused();
        bytes[at] = (bytes[at] ?? 0) ^ 0x01;
        await adapters.blobs.put(part, bytes);
      }
      await services.backups.verify(operator, id, 100);
    });

    it('a missing part', async () => {
      const parts = await dataParts(adapters.blobs, id);
      await adapters.blobs.delete(parts[1]!);
      await expectRefused();
    });

    it('two parts swapped', async () => {
      const [first, second] = await dataParts(adapters.blobs, id);
      const a = (await adapters.blobs.get(first!))!;
      const b = (await adapters.blobs.get(second!))!;
      await adapters.blobs.put(first!, b);
      await adapters.blobs.put(second!, a);
      await expectRefused();
    });

    it('a truncated last part', async () => {
      const parts = await dataParts(adapters.blobs, id);
      const last = parts.at(-1)!;
      const bytes = (await adapters.blobs.get(last))!;
      await adapters.blobs.put(last, bytes.subarray(0, bytes.byteLength - 10));
      await expectRefused();
    });

    it('a backup manifest edited', async () => {
      const key = `backup-manifests/${id}.json`;
      const manifest = await storedManifest(id);
      for (const edit of [
        { scope: 'agent:agent-1' },
        { records: manifest.records - 1 },
        { created_at: '2020-01-01T00:00:00.000Z' },
      ]) {
        await adapters.blobs.put(key, Buffer.from(JSON.stringify({ ...manifest, ...edit })));
        await expectRefused();
      }
    });

    it('a sampled verify finds a flipped byte in the part it checks', async () => {
      const parts = await dataParts(adapters.blobs, id);
      for (const part of parts) {
        const bytes = Buffer.from((await adapters.blobs.get(part))!);
        bytes[0] = (bytes[0] ?? 0) ^ 0x80;
        await adapters.blobs.put(part, bytes);
      }
      await expectAppError(services.backups.verify(operator, id, 1), 'DecryptionFailed');
    });
  });

  it('verifies a whole backup or a sample of its parts', async () => {
    await seed();
    const id = await backUp();
    const whole = await services.backups.verify(operator, id, 100);
    const parts = (await dataParts(adapters.blobs, id)).length;
    expect(whole).toMatchObject({ backup_id: id, verified: true, parts_checked: parts });
    const sample = await services.backups.verify(operator, 'latest', 50);
    expect(sample.parts_checked).toBe(Math.ceil(parts / 2));
    expect(sample.chunks_checked).toBeGreaterThan(0);
    // A worker configured with another chunk size reads the backup's own framing.
    const other = createStateServices(adapters, defaultLimits, { chunkBytes: 300 });
    expect((await other.backups.verify(operator, id, 100)).verified).toBe(true);
    expect((await other.backups.verify(operator, id, 100 / parts)).parts_checked).toBe(1);
  });

  it('exports to a directory or a file; a path that cannot be written is IoError with no partial file', async () => {
    await seed();
    const id = await backUp();
    const dir = join(root, 'out');
    await mkdir(dir);
    const exported = await services.backups.export(operator, id, dir);
    expect(exported.exported_path).toBe(join(dir, `${id}.agentstate-backup`));
    expect(exported.size_bytes).toBeGreaterThan(2048);
    const file = await services.backups.export(operator, id, join(dir, 'copy.bin'));
    expect(file.size_bytes).toBe(exported.size_bytes);

    const unwritable = await expectAppError(
      services.backups.export(operator, id, join(root, 'missing', 'x.bin')),
      'IoError',
    );
    expect(unwritable.recovery.map((hint) => hint.action)).toEqual(['check_path']);
    // A backup that fails while being copied leaves no partial file either.
    const [part] = await dataParts(adapters.blobs, id);
    await adapters.blobs.delete(part!);
    await expectAppError(services.backups.export(operator, id, join(dir, 'damaged.bin')), 'DecryptionFailed');
    expect((await readdir(dir)).sort()).toEqual([`${id}.agentstate-backup`, 'copy.bin']);
    const locked = join(root, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    if (process.getuid?.() !== 0) {
      await expectAppError(services.backups.export(operator, id, locked), 'IoError');
      expect(await readdir(locked)).toEqual([]);
    }
  });
});
