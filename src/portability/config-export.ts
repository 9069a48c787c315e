import { loadConfig } from '../config.ts';
import { TOKEN_KEY_SECRET } from '../core/identity/tokens.ts';
import { secretEnvName } from '../adapters/embedded/index.ts';
import { loadPolicy } from '../service/policy-source.ts';
import type { ConfigDocument } from './config-document.ts';

/** The secrets an instance needs: names and where each is set, never a value. */
export const instanceSecrets: ConfigDocument['secrets'] = [
  {
    name: TOKEN_KEY_SECRET,
    env_var: secretEnvName(TOKEN_KEY_SECRET),
    used_for: 'signing and verifying bearer tokens (a secret of the secret store under Dapr)',
  },
  {
    name: 'app-api-token',
    env_var: 'APP_API_TOKEN',
    used_for: 'trusting dapr-caller-app-id: the same value as daprd’s APP_API_TOKEN',
  },
  {
    name: 'dapr-api-token',
    env_var: 'DAPR_API_TOKEN',
    used_for: 'calling the sidecar, when daprd requires it',
  },
];

/**
 * The configuration of the instance whose environment `env` is, exactly as
 * `agentstate serve` reads it (`loadConfig`, the policy text or file): the app-id
 * policy, limits, the store and Dapr component names, and the secrets' names.
 * Host, port and data folder are left out: they belong to the machine, not the instance.
 */
export async function exportInstanceConfig(
  env: NodeJS.ProcessEnv,
  now = new Date(),
): Promise<ConfigDocument> {
  const config = loadConfig(env);
  const { stateStore, pubsub, broadcastPubsub, blobBinding, secretStore } = config.dapr;
  return {
    format_version: 1,
    exported_at: now.toISOString(),
    source_environment: config.environment,
    store: config.store,
    policy: await loadPolicy(config),
    limits: {
      sessionIdleTimeoutSeconds: config.limits.sessionIdleTimeoutSeconds,
      sessionMaxLifetimeSeconds: config.limits.sessionMaxLifetimeSeconds,
      sessionQuotaBytes: config.limits.sessionQuotaBytes,
      persistentQuotaBytes: config.limits.persistentQuotaBytes,
      persistentRetention: config.limits.persistentRetention,
      sharedQuotaBytes: config.limits.sharedQuotaBytes,
      auditRetentionDays: config.limits.auditRetentionDays,
      snapshotRetention: config.limits.snapshotRetention,
      checkpointTtlSeconds: config.limits.checkpointTtlSeconds,
      checkpointRetention: config.limits.checkpointRetention,
    },
    components: { stateStore, pubsub, broadcastPubsub, blobBinding, secretStore },
    secrets: instanceSecrets,
  };
}
