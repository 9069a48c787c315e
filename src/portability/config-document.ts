import { extname } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { configSchema } from '../config.ts';
import { AppError } from '../core/errors.ts';
import { policySchema } from '../core/identity/policy.ts';
import { parseInput } from '../core/parse-input.ts';

// The instance configuration of spec/001, as `agentstate config export` writes it and
// `config import` reads it: what makes one agentstate behave like another, without the
// secrets. It is meant to be read and edited between environments, so it has no checksum.

/** The versions of the document this build reads; export writes the last. */
export const CONFIG_FORMAT_VERSIONS = [1] as const;

const limits = configSchema.shape.limits;
const dapr = configSchema.shape.dapr.shape;

export const configDocumentSchema = z.strictObject({
  format_version: z.literal(1),
  exported_at: z.iso.datetime(),
  source_environment: z.string().min(1).describe('AGENTSTATE_ENVIRONMENT of the exporting side.'),
  store: configSchema.shape.store,
  policy: policySchema.describe('The app-id policy: the Dapr apps (agents, gateways, jobs) and their roles.'),
  limits: z.strictObject({
    sessionIdleTimeoutSeconds: limits.shape.sessionIdleTimeoutSeconds,
    sessionMaxLifetimeSeconds: limits.shape.sessionMaxLifetimeSeconds,
    sessionQuotaBytes: limits.shape.sessionQuotaBytes,
    persistentQuotaBytes: limits.shape.persistentQuotaBytes,
    persistentRetention: limits.shape.persistentRetention,
    sharedQuotaBytes: limits.shape.sharedQuotaBytes,
    // Defaulted, so that documents exported before these settings existed still import.
    auditRetentionDays: limits.shape.auditRetentionDays,
    snapshotRetention: limits.shape.snapshotRetention,
    checkpointTtlSeconds: limits.shape.checkpointTtlSeconds,
    checkpointRetention: limits.shape.checkpointRetention,
    // Documents exported when checkpoints had a quota of their own still import; they
    // count toward persistentQuotaBytes now.
    checkpointQuotaBytes: z.int().min(0).exactOptional(),
  }),
  components: z.strictObject({
    stateStore: dapr.stateStore,
    pubsub: dapr.pubsub,
    broadcastPubsub: dapr.broadcastPubsub,
    blobBinding: dapr.blobBinding,
    secretStore: dapr.secretStore,
  }),
  secrets: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        env_var: z.string().min(1),
        used_for: z.string().min(1),
      }),
    )
    .describe('The secrets the instance needs, by name only: values are never exported.'),
});
export type ConfigDocument = z.infer<typeof configDocumentSchema>;
export type ConfigLimits = ConfigDocument['limits'];
export type ConfigComponents = ConfigDocument['components'];

/**
 * The environment variable of every restorable setting, as `loadConfig` reads it.
 * Exhaustive over the document's limits and components, so a new one must be placed.
 */
export const limitVariables: Record<Exclude<keyof ConfigLimits, 'checkpointQuotaBytes'>, string> = {
  sessionIdleTimeoutSeconds: 'AGENTSTATE_SESSION_IDLE_TIMEOUT_SECONDS',
  sessionMaxLifetimeSeconds: 'AGENTSTATE_SESSION_MAX_LIFETIME_SECONDS',
  sessionQuotaBytes: 'AGENTSTATE_SESSION_QUOTA_BYTES',
  persistentQuotaBytes: 'AGENTSTATE_PERSISTENT_QUOTA_BYTES',
  persistentRetention: 'AGENTSTATE_PERSISTENT_RETENTION',
  sharedQuotaBytes: 'AGENTSTATE_SHARED_QUOTA_BYTES',
  auditRetentionDays: 'AGENTSTATE_AUDIT_RETENTION_DAYS',
  snapshotRetention: 'AGENTSTATE_SNAPSHOT_RETENTION',
  checkpointTtlSeconds: 'AGENTSTATE_CHECKPOINT_TTL_SECONDS',
  checkpointRetention: 'AGENTSTATE_CHECKPOINT_RETENTION',
};
export const componentVariables: Record<keyof ConfigComponents, string> = {
  stateStore: 'AGENTSTATE_STATE_STORE',
  pubsub: 'AGENTSTATE_PUBSUB',
  broadcastPubsub: 'AGENTSTATE_BROADCAST_PUBSUB',
  blobBinding: 'AGENTSTATE_BLOB_BINDING',
  secretStore: 'AGENTSTATE_SECRET_STORE',
};

export type ConfigFormat = 'json' | 'yaml';

/** JSON or YAML by the file's extension; any other is `InvalidInput`. */
export function configFormatOf(path: string): ConfigFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  throw new AppError('InvalidInput', `cannot tell the format of ${path}: name it .json, .yaml or .yml`);
}

export function encodeConfig(document: ConfigDocument, format: ConfigFormat): string {
  return format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringifyYaml(document);
}

/**
 * Reads a config document: text that is not JSON or YAML, or not an object, is
 * `InvalidInput`; a `format_version` this build does not read is `IncompatibleVersion`
 * (checked before the shape, which a newer version may change); then the shape, unknown
 * fields refused.
 */
export function decodeConfig(text: string, format: ConfigFormat): ConfigDocument {
  let value: unknown;
  try {
    // YAML 1.2 reads JSON too, but JSON.parse gives the clearer error for a .json file.
    value = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new AppError('InvalidInput', `the config document is not valid ${format.toUpperCase()}`, {
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AppError('InvalidInput', 'the config document must be an object');
  const version = (value as Record<string, unknown>)['format_version'];
  if (version === undefined) throw new AppError('InvalidInput', 'the config document has no format_version');
  if (!(CONFIG_FORMAT_VERSIONS as readonly unknown[]).includes(version)) {
    throw new AppError(
      'IncompatibleVersion',
      `config format_version ${JSON.stringify(version)} is not one this agentstate reads (${CONFIG_FORMAT_VERSIONS.join(', ')})`,
      { details: { format_version: version, readable: CONFIG_FORMAT_VERSIONS } },
    );
  }
  return parseInput(configDocumentSchema, value, 'config document');
}
