import type { Limits } from '../config.ts';
import { createCheckpoints, type Checkpoints } from '../core/checkpoints/checkpoints.ts';
import { createLargeObjectStore } from '../storage/large-object-store.ts';
import type { Adapters } from './adapters.ts';

/** The checkpoints of an agent over one worker's adapters, with the configured limits. */
export function checkpointsOver(
  adapters: Adapters,
  limits: Limits,
): (tenant: string, agent: string) => Checkpoints {
  const blobs = createLargeObjectStore(adapters.blobs);
  return (tenant, agent) =>
    createCheckpoints(adapters.kv, {
      tenant,
      agent,
      blobs,
      defaultTtlSeconds: limits.checkpointTtlSeconds,
      retention: limits.checkpointRetention,
      quotaBytes: limits.persistentQuotaBytes,
    });
}
