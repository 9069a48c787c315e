import { randomBytes } from 'node:crypto';
import { defaultLimits } from '../config.ts';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
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
import { checkpointAgents } from '../core/checkpoints/checkpoint-agents.ts';
import type { Caller } from '../core/identity/caller.ts';
import { createPersistentState } from '../core/state/persistent-state.ts';
import { createAuditTrail } from '../core/state/shared-audit.ts';
import { createSharedState } from '../core/state/shared-state.ts';
import { tenantDirectory } from '../core/state/tenant-directory.ts';
import type { Adapters } from '../service/adapters.ts';
import { createStateServices } from '../service/state-services.ts';
import { expectAppError } from '../testing/conformance/assertions.ts';
import type { BackupManifest } from './backup-manifest.ts';

// A platform operator's full backup over the embedded adapters: every tenant in the
// tenant directory, restored whole by the platform operator and by nobody else.

const PLATFORM = 'platform';
const platformOperator: Caller = { tenant: PLATFORM, principal: 'root', roles: ['operator'], via: 'token' };
const platformAgent: Caller = { tenant: PLATFORM, principal: 'bot', roles: ['agent'], via: 'token' };
const operatorOf = (tenant: string): Caller => ({
  tenant,
  principal: 'ops',
  roles: ['operator'],
  via: 'token',
});
const tenants = ['t1', 't2'];
const agents = ['agent-1', 'agent-2'];

let root: string;
let adapters: Adapters;
let services: StateServices;

const open = (platformTenant?: string) =>
  createStateServices(adapters, defaultLimits, {
    chunkBytes: 256,
    ...(platformTenant === undefined ? {} : { platformTenant }),
  });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentstate-platform-backups-'));
  adapters = {
    family: 'embedded',
    kv: createSqliteKvStore({ path: ':memory:' }),
    blobs: createFolderBlobStore({ root: join(root, 'blobs'), maxObjectBytes: 1024 }),
    bus: createMemoryEventBus(),
    secrets: createEnvFileSecretSource({
      env: { AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY: randomBytes(32).toString('base64') },
    }),
  };
  for (const adapter of [adapters.kv, adapters.blobs, adapters.bus, adapters.secrets]) await adapter.init();
  services = open(PLATFORM);
});
afterEach(async () => {
  await services.backups.settle();
  for (const tenant of [...tenants, PLATFORM]) {
    await services.shared(tenant).settle();
    for (const agent of agents) await services.persistent(tenant, agent).settle();
  }
  for (const adapter of [adapters.kv, adapters.blobs, adapters.bus, adapters.secrets]) await adapter.close();
  await rm(root, { recursive: true, force: true });
});

/** Two agents with history and shared keys in each tenant, the values naming their tenant. */
async function seed() {
  for (const tenant of tenants) {
    for (const agent of agents) {
      const state = services.persistent(tenant, agent);
      await state.set('memory', `${tenant} ${agent} first`);
      await state.set('memory', { tenant, agent, text: randomBytes(40).toString('hex') });
      await state.set(`only-${agent}`, [tenant, agent]);
    }
    const shared = services.shared(tenant);
    await shared.set('agent-1', 'counter', 1, 0);
    await shared.set('agent-2', 'counter', 2, 1);
    await shared.set('agent-1', `flag-${tenant}`, true, 0);
  }
}

/** Everything a reader sees of one tenant: values and histories, shared values and writers. */
async function view(tenant: string) {
  const persistent: Record<string, unknown> = {};
  for (const agent of agents) {
    const state = services.persistent(tenant, agent);
    for (const { key } of (await state.list()).entries)
      persistent[`${agent}/${key}`] = (await state.history(key)).versions.map(({ value, created_at }) => ({
        value,
        created_at,
      }));
  }
  const shared: Record<string, unknown> = {};
  const sharedState = services.shared(tenant);
  for (const { key } of (await sharedState.list()).entries) {
    const { value, owner_agent } = await sharedState.get(key);
    shared[key] = { value, owner_agent };
  }
  return { persistent, shared };
}

async function views(): Promise<Record<string, Awaited<ReturnType<typeof view>>>> {
  const seen: Record<string, Awaited<ReturnType<typeof view>>> = {};
  for (const tenant of tenants) seen[tenant] = await view(tenant);
  return seen;
}

async function backUp(caller: Caller): Promise<string> {
  const started = await services.backups.create(caller);
  await services.backups.settle();
  const job = await services.backups.status(caller, started.backup_id);
  expect(job.status, JSON.stringify(job.error)).toBe('complete');
  return started.backup_id;
}

async function storedManifest(id: string): Promise<BackupManifest> {
  const bytes = await adapters.blobs.get(`backup-manifests/${id}.json`);
  return JSON.parse(Buffer.from(bytes!).toString()) as BackupManifest;
}

/** Changes and deletes in both tenants, persistent and shared. */
async function change(): Promise<void> {
  for (const tenant of tenants) {
    const one = services.persistent(tenant, 'agent-1');
    await one.set('memory', 'changed');
    await one.delete('only-agent-1');
    await one.set('new-key', 'not in the backup');
    await services.persistent(tenant, 'agent-2').delete('memory');
    const shared = services.shared(tenant);
    await shared.set('agent-2', 'counter', 99, 2);
    await shared.delete('agent-1', `flag-${tenant}`);
    await shared.set('agent-1', 'extra', 'not in the backup', 0);
  }
}

async function all(names: AsyncIterable<string>): Promise<string[]> {
  const listed: string[] = [];
  for await (const name of names) listed.push(name);
  return listed;
}

describe('platform backups', () => {
  it('back up every tenant and restore every tenant exactly, for the platform operator', async () => {
    await seed();
    const before = await views();
    const id = await backUp(platformOperator);
    const manifest = await storedManifest(id);
    expect(manifest).toMatchObject({
      format: 'agentstate.backup/2',
      tenant: PLATFORM,
      scope: 'full',
      tenants,
    });
    expect(
      (await services.backups.list(platformOperator)).backups.map((b) => [b.backup_id, b.scope]),
    ).toEqual([[id, 'full']]);

    await change();
    expect(await views()).not.toEqual(before);
    const result = await services.backups.restore(platformOperator, id);
    expect(result).toMatchObject({
      restored: true,
      agents_restored: agents,
      shared_state_restored: true,
      tenants_restored: tenants.map((tenant) => ({ tenant, agents_restored: agents })),
    });
    expect(await views()).toEqual(before);
    // Each tenant's audit trail says who overwrote its state, from which backup.
    for (const tenant of tenants) {
      const audited = (await createAuditTrail(adapters.kv, tenant).readAll()).filter((r) =>
        r.action.startsWith('backup.'),
      );
      expect(audited.map((r) => [r.action, r.agent, r.details, r.outcome])).toEqual([
        ['backup.restored', 'root', { backup_id: id, platform_tenant: PLATFORM }, 'ok'],
      ]);
    }
    // CAS goes on from the restored versions, which are above any the keys had.
    const counter = await services.shared('t2').get('counter');
    expect(counter.value).toBe(2);
    await expectAppError(services.shared('t2').set('agent-1', 'counter', 3, 3), 'VersionConflict');
    expect((await services.shared('t2').set('agent-1', 'counter', 3, counter.version)).version).toBe(
      counter.version + 1,
    );

    // The safety backup is a platform backup of what the restore overwrote.
    const safety = await storedManifest(result.safety_backup_id);
    expect(safety).toMatchObject({ format: 'agentstate.backup/2', tenants });
    await services.backups.restore(platformOperator, result.safety_backup_id);
    expect((await services.persistent('t1', 'agent-1').get('new-key')).value).toBe('not in the backup');
    expect((await services.shared('t2').get('extra')).value).toBe('not in the backup');
  });

  it("lets nobody else see, restore or export it; a tenant's own operator keeps today's full backup", async () => {
    await seed();
    const id = await backUp(platformOperator);
    await change();
    const changed = await views();

    // Another tenant's operator: the backup is not in its tenant.
    expect((await services.backups.list(operatorOf('t1'))).count).toBe(0);
    await expectAppError(services.backups.restore(operatorOf('t1'), id), 'BackupNotFound');
    await expectAppError(services.backups.export(operatorOf('t2'), id, root), 'BackupNotFound');
    // The platform tenant's callers who are not its operator, and the platform tenant's
    // operator on a worker without a platform operator.
    const ordinary = open();
    for (const [backups, caller] of [
      [services.backups, platformAgent],
      [ordinary.backups, platformOperator],
    ] as const) {
      expect((await backups.list(caller)).count).toBe(0);
      await expectAppError(backups.restore(caller, id), 'Forbidden');
      await expectAppError(backups.export(caller, id, root), 'Forbidden');
    }
    await expectAppError(services.backups.verify(platformAgent, 'latest', 100), 'BackupNotFound');
    await expectAppError(services.backups.verify(platformAgent, id, 100), 'Forbidden');
    await expectAppError(services.backups.restore(platformOperator, id, 'agent-1'), 'InvalidInput');
    expect(await views()).toEqual(changed);
    expect(await readdir(root)).toEqual(['blobs']);

    // A tenant's operator backs up and restores its own tenant alone, as before.
    const own = await backUp(operatorOf('t1'));
    expect(await storedManifest(own)).not.toHaveProperty('tenants');
    expect((await storedManifest(own)).format).toBe('agentstate.backup/1');
    await services.persistent('t2', 'agent-1').set('memory', 'later in t2');
    await services.persistent('t1', 'agent-1').set('memory', 'later in t1');
    const restored = await services.backups.restore(operatorOf('t1'), own);
    expect(restored).not.toHaveProperty('tenants_restored');
    expect((await services.persistent('t1', 'agent-1').get('memory')).value).toBe('changed');
    expect((await services.persistent('t2', 'agent-1').get('memory')).value).toBe('later in t2');
  });

  it('registers every tenant that writes persistent or shared state, and back-fills from checkpoint writers', async () => {
    await services.persistent('t1', 'agent-1').set('k', 1);
    await services.shared('t2').set('agent-1', 'k', 1, 0);
    await services.shared('t3').list();
    expect(await all(tenantDirectory(adapters.kv).list())).toEqual(['t1', 't2']);

    // Written as an agentstate older than the tenant directory did: no entry.
    const older = createPersistentState(adapters.kv, { tenant: 'old', agent: 'agent-1' });
    await older.set('memory', 'from before the tenant directory');
    await older.settle();
    const olderShared = createSharedState(adapters.kv, adapters.bus, { tenant: 'old' });
    await olderShared.set('agent-1', 'k', 'old shared', 0);
    await olderShared.settle();
    const missed = await storedManifest(await backUp(platformOperator));
    expect(missed.tenants).toEqual(['t1', 't2']);

    // A tenant that wrote checkpoints is found, and stays listed.
    await checkpointAgents(adapters.kv).register('old', 'agent-1');
    const found = await storedManifest(await backUp(platformOperator));
    expect(found.tenants).toEqual(['old', 't1', 't2']);
    expect(await all(tenantDirectory(adapters.kv).list())).toEqual(['old', 't1', 't2']);
    await services.shared('old').set('agent-1', 'k', 'changed', 1);
    await services.backups.restore(platformOperator, found.backup_id);
    expect((await services.shared('old').get('k')).value).toBe('old shared');
  });

  it('restores a backup of format 1 (an earlier release, or before the platform tenant was set) as before', async () => {
    await services.persistent(PLATFORM, 'agent-1').set('memory', 'platform tenant state');
    await seed();
    const before = open();
    const started = await before.backups.create(platformOperator);
    await before.backups.settle();
    const id = started.backup_id;
    expect(await storedManifest(id)).toMatchObject({ format: 'agentstate.backup/1', tenant: PLATFORM });
    expect((await storedManifest(id)).tenants).toBeUndefined();

    await services.persistent(PLATFORM, 'agent-1').set('memory', 'changed');
    await services.persistent('t1', 'agent-1').set('memory', 'changed in t1');
    const result = await services.backups.restore(platformOperator, id);
    expect(result).toMatchObject({ agents_restored: ['agent-1'], shared_state_restored: true });
    expect(result).not.toHaveProperty('tenants_restored');
    expect((await services.persistent(PLATFORM, 'agent-1').get('memory')).value).toBe(
      'platform tenant state',
    );
    expect((await services.persistent('t1', 'agent-1').get('memory')).value).toBe('changed in t1');

    // A format this release does not know is refused as such, not taken for damage.
    const later = { ...(await storedManifest(id)), format: 'agentstate.backup/3' };
    await adapters.blobs.put(`backup-manifests/${id}.json`, Buffer.from(JSON.stringify(later)));
    await expectAppError(services.backups.restore(platformOperator, id), 'IncompatibleVersion');
  });

  it('backs up and restores an empty tenant directory', async () => {
    const id = await backUp(platformOperator);
    expect((await storedManifest(id)).tenants).toEqual([]);
    expect(await services.backups.restore(platformOperator, id)).toMatchObject({
      agents_restored: [],
      tenants_restored: [],
    });
  });
});
