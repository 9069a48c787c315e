import type { StateServices } from '../capabilities/state-services.ts';
import type { Limits } from '../config.ts';
import { createApprovalStore } from '../core/approvals/approval-store.ts';
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
  };
}
