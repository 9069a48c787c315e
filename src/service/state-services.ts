import { namesWithBackfill } from '../backups/backup-agents.ts';
import { createBackups, type BackupsOptions } from '../backups/backups.ts';
import { createVault } from '../backups/vault.ts';
import type { StateServices } from '../capabilities/state-services.ts';
import type { Config, Limits } from '../config.ts';
import { createApprovalStore } from '../core/approvals/approval-store.ts';
import { createJournal } from '../core/briefing/journal.ts';
import { TOKEN_KEY_SECRET } from '../core/identity/tokens.ts';
import { createSessions } from '../core/sessions/sessions.ts';
import { checkpointAgents } from '../core/checkpoints/checkpoint-agents.ts';
import { agentDirectory } from '../core/state/agent-directory.ts';
import { createPersistentState } from '../core/state/persistent-state.ts';
import { createAuditTrail } from '../core/state/shared-audit.ts';
import { NOTIFICATIONS_TOPIC } from '../core/state/shared-events.ts';
import { registeringSharedWrites, registeringWrites } from '../core/state/registering-writes.ts';
import { createSharedState } from '../core/state/shared-state.ts';
import { tenantDirectory } from '../core/state/tenant-directory.ts';
import { createActivityTracker } from '../core/system/activity.ts';
import { createSystemSnapshotStore } from '../core/system/snapshot-store.ts';
import { createWatches } from '../core/watch/watches.ts';
import { createLargeObjectStore } from '../storage/large-object-store.ts';
import type { Adapters } from './adapters.ts';
import { checkReadiness } from './readiness.ts';

/** How backups are configured and observed, beyond the adapters. */
export type BackupServiceOptions = Partial<Config['backups']> &
  Pick<BackupsOptions, 'observe' | 'report' | 'heartbeatMs'>;

/** The domain services over one worker's adapters, with the configured limits. */
export function createStateServices(
  adapters: Adapters,
  limits: Limits,
  backups: BackupServiceOptions = {},
): StateServices {
  const sessions = createSessions(adapters.kv, {
    idleTimeoutSeconds: limits.sessionIdleTimeoutSeconds,
    maxLifetimeSeconds: limits.sessionMaxLifetimeSeconds,
    quotaBytes: limits.sessionQuotaBytes,
  });
  // Every agent that writes persistent state is in its tenant's directory, which is
  // what a full backup enumerates; every tenant that writes persistent or shared state
  // is in the tenant directory, which a platform operator's full backup enumerates.
  const tenants = tenantDirectory(adapters.kv);
  const persistent = (tenant: string, agent: string) =>
    registeringWrites(
      createPersistentState(adapters.kv, {
        tenant,
        agent,
        retention: limits.persistentRetention,
        quotaBytes: limits.persistentQuotaBytes,
      }),
      async () => {
        await Promise.all([tenants.register(tenant), agentDirectory(adapters.kv, tenant).register(agent)]);
      },
    );
  const shared = (tenant: string) =>
    registeringSharedWrites(
      createSharedState(adapters.kv, adapters.bus, {
        tenant,
        quotaBytes: limits.sharedQuotaBytes,
        auditRetentionDays: limits.auditRetentionDays,
      }),
      () => tenants.register(tenant),
    );
  const audit = (tenant: string) =>
    createAuditTrail(adapters.kv, tenant, { retentionDays: limits.auditRetentionDays });
  const objects = createLargeObjectStore(adapters.blobs);
  const activity = createActivityTracker(adapters.kv);
  const { vaultSecret, retention, chunkBytes, platformTenant, observe, report, heartbeatMs } = backups;
  return {
    sessions,
    persistent,
    shared,
    watches: createWatches(adapters.kv, sessions),
    backups: createBackups({
      blobs: adapters.blobs,
      kv: adapters.kv,
      vault: createVault(adapters.secrets, vaultSecret),
      source: (tenant) => ({
        persistent: (agent) => persistent(tenant, agent),
        shared: () => shared(tenant),
        agents: () =>
          namesWithBackfill(agentDirectory(adapters.kv, tenant), async () =>
            (await activity.agents(tenant)).map(({ agent }) => agent),
          ),
      }),
      ...(platformTenant === undefined
        ? {}
        : {
            platform: {
              tenant: platformTenant,
              // Tenants that wrote before the directory existed are found if they wrote
              // checkpoints (or as soon as they write again): README, Backups.
              tenants: () =>
                namesWithBackfill(tenants, async () => {
                  const found = new Set<string>();
                  for await (const { tenant } of checkpointAgents(adapters.kv).list()) found.add(tenant);
                  return found;
                }),
            },
          }),
      audit,
      ...(retention === undefined ? {} : { retention }),
      ...(chunkBytes === undefined ? {} : { chunkBytes }),
      ...(observe === undefined ? {} : { observe }),
      ...(report === undefined ? {} : { report }),
      ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
    }),
    approvals: (tenant) => createApprovalStore(adapters.kv, tenant),
    audit,
    activity,
    journal: (tenant) => createJournal(adapters.kv, tenant, { retentionDays: limits.auditRetentionDays }),
    systemSnapshots: (tenant) =>
      createSystemSnapshotStore(adapters.kv, objects, tenant, { retention: limits.snapshotRetention }),
    async health() {
      const { checks } = await checkReadiness(adapters, TOKEN_KEY_SECRET);
      return (['kv', 'blobs', 'secrets'] as const).map((component) => ({ component, ...checks[component] }));
    },
    notify: (notification) => adapters.bus.publish(NOTIFICATIONS_TOPIC, notification),
    quotas: { persistentBytes: limits.persistentQuotaBytes, sharedBytes: limits.sharedQuotaBytes },
  };
}
