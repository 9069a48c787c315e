import { readFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { emptyPolicy, parsePolicy, type Policy } from '../core/identity/policy.ts';

/**
 * The app-id policy of the configuration: `AGENTSTATE_POLICY` text, or the file
 * `AGENTSTATE_POLICY_FILE` names (a mounted ConfigMap in Kubernetes); neither admits
 * no Dapr caller. Both at once is a configuration error, as one would silently win.
 */
export async function loadPolicy(config: Pick<Config, 'policy' | 'policyFile'>): Promise<Policy> {
  if (config.policy !== undefined && config.policyFile !== undefined) {
    throw new Error('set AGENTSTATE_POLICY or AGENTSTATE_POLICY_FILE, not both');
  }
  if (config.policy !== undefined) return parsePolicy(config.policy);
  if (config.policyFile !== undefined) return parsePolicy(await readFile(config.policyFile, 'utf8'));
  return emptyPolicy;
}
