import type { StateServices } from '../capabilities/state-services.ts';
import type { Limits } from '../config.ts';
import { createApprovalStore } from '../core/approvals/approval-store.ts';
import { createJournal } from '../core/briefing/journal.ts';
import { createActivityTracker } from '../core/system/activity.ts';
import { createSystemSnapshotStore } from '../core/system/snapshot-store.ts';
import { NOTIFICATIONS_TOPIC } from '../core/state/shared-events.ts';
import { TOKEN_KEY_SECRET } from '../core/identity/tokens.ts';
import { createLargeObjectStore } from '../storage/large-object-store.ts';
import { checkReadiness } from './readiness.ts';
import { createSessions } from '../core/sessions/sessions.ts';
import { createPersistentState } from '../core/state/persistent-state.ts';
import { createAuditTrail } from '../core/state/shared-audit.ts';
import { createSharedState } from '../core/state/shared-state.ts';
import { createWatches } from '../core/watch/watches.ts';
import type { Adapters } from './adapters.ts';

/** The domain services over one worker's adapters, with the configured limits. */
export function createStateServices(adapters: Adapters, limits: Limits): StateServices {
  const sessions = createSessions(adapters.kv, {
    idleTimeoutSeconds: limits.sessionIdleTimeoutSeconds,
    maxLifetimeSeconds: limits.sessionMaxLifetimeSeconds,
    quotaBytes: limits.sessionQuotaBytes,
  });
  const objects = createLargeObjectStore(adapters.blobs);
  return {
    sessions,
    persistent: (tenant, agent) =>
      createPersistentState(adapters.kv, {
        tenant,
        agent,
        retention: limits.persistentRetention,
        quotaBytes: limits.persistentQuotaBytes,
      }),
    shared: (tenant) =>
      createSharedState(adapters.kv, adapters.bus, {
        tenant,
        quotaBytes: limits.sharedQuotaBytes,
        auditRetentionDays: limits.auditRetentionDays,
      }),
    watches: createWatches(adapters.kv, sessions),
    approvals: (tenant) => createApprovalStore(adapters.kv, tenant),
    audit: (tenant) => createAuditTrail(adapters.kv, tenant, { retentionDays: limits.auditRetentionDays }),
    activity: createActivityTracker(adapters.kv),
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
