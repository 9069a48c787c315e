import { createBackups, type BackupsOptions } from '../backups/backups.ts';
import { createVault } from '../backups/vault.ts';
import type { StateServices } from '../capabilities/state-services.ts';
import type { Config, Limits } from '../config.ts';
import { agentDirectory, registeringWrites } from '../core/state/agent-directory.ts';
import { createAuditTrail } from '../core/state/shared-audit.ts';
import { createSessions } from '../core/sessions/sessions.ts';
import { createPersistentState } from '../core/state/persistent-state.ts';
import { createSharedState } from '../core/state/shared-state.ts';
import { createWatches } from '../core/watch/watches.ts';
import type { Adapters } from './adapters.ts';

/** How backups are configured and observed, beyond the adapters. */
export type BackupServiceOptions = Partial<Config['backups']> & Pick<BackupsOptions, 'observe' | 'report'>;

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
  // what a full backup enumerates.
  const persistent = (tenant: string, agent: string) =>
    registeringWrites(
      createPersistentState(adapters.kv, {
        tenant,
        agent,
        retention: limits.persistentRetention,
        quotaBytes: limits.persistentQuotaBytes,
      }),
      agentDirectory(adapters.kv, tenant),
      agent,
    );
  const shared = (tenant: string) =>
    createSharedState(adapters.kv, adapters.bus, { tenant, quotaBytes: limits.sharedQuotaBytes });
  const { vaultSecret, retention, chunkBytes, observe, report } = backups;
  return {
    sessions,
    persistent,
    shared,
    watches: createWatches(adapters.kv, sessions),
    backups: createBackups({
      blobs: adapters.blobs,
      vault: createVault(adapters.secrets, vaultSecret),
      source: (tenant) => ({
        persistent: (agent) => persistent(tenant, agent),
        shared: () => shared(tenant),
        agents: () => agentDirectory(adapters.kv, tenant).list(),
      }),
      audit: (tenant) => createAuditTrail(adapters.kv, tenant),
      ...(retention === undefined ? {} : { retention }),
      ...(chunkBytes === undefined ? {} : { chunkBytes }),
      ...(observe === undefined ? {} : { observe }),
      ...(report === undefined ? {} : { report }),
    }),
  };
}
