import { z } from 'zod';
import { idSchema } from './core/identity/caller.ts';

/**
 * The worker's configuration, parsed once from the environment (and CLI flags, which
 * override it). Every default lives here.
 */
export const configSchema = z.object({
  /** @default 8080 */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Loopback by default so that `npm start` exposes nothing; the Helm chart sets 0.0.0.0. */
  host: z.string().min(1).default('127.0.0.1'),
  /** `auto` picks `dapr` when a sidecar is announced by DAPR_HTTP_PORT, `embedded` otherwise. */
  store: z.enum(['auto', 'embedded', 'dapr']).default('auto'),
  /** Where the embedded adapters keep their files. */
  dataDir: z.string().min(1).default('./.agentstate'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  dapr: z.object({
    httpPort: z.coerce.number().int().min(1).max(65535).optional(),
    /** The sidecar's gRPC API (pub/sub subscriptions); daprd's own default. */
    grpcPort: z.coerce.number().int().min(1).max(65535).default(50001),
    host: z.string().min(1).default('127.0.0.1'),
    /** Sent to the sidecar as `dapr-api-token` when set. */
    apiToken: z.string().min(1).optional(),
    stateStore: z.string().min(1).default('agentstate-state'),
    pubsub: z.string().min(1).default('agentstate-pubsub'),
    broadcastPubsub: z.string().min(1).default('agentstate-broadcast'),
    blobBinding: z.string().min(1).default('agentstate-blobs'),
    secretStore: z.string().min(1).default('agentstate-secrets'),
    /** How long the worker waits for its sidecar before giving up. */
    sidecarWaitMs: z.coerce.number().int().min(0).default(60_000),
  }),
  /** How long SIGTERM waits for requests in flight before closing connections. */
  shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
  /**
   * The token daprd sends as `dapr-api-token` to this app (daprd's own APP_API_TOKEN).
   * Without it, `dapr-caller-app-id` is never trusted and only bearer tokens work.
   */
  appApiToken: z.string().min(16, 'APP_API_TOKEN must be at least 16 characters').optional(),
  /** The app-id policy, as JSON or YAML text (`AGENTSTATE_POLICY`), or a file holding it. */
  policy: z.string().min(1).optional(),
  policyFile: z.string().min(1).optional(),
  /**
   * Host names (no port) that requests to `/mcp` may carry in `Host`, comma-separated
   * (`AGENTSTATE_MCP_ALLOWED_HOSTS`): the SDK's DNS-rebinding protection. Loopback by
   * default, as the worker listens there; add the Service name a cluster calls it by.
   */
  mcpAllowedHosts: z
    .string()
    .default('localhost,127.0.0.1,[::1]')
    .transform((list) =>
      list
        .split(',')
        .map((host) => host.trim())
        .filter((host) => host !== ''),
    ),
  /**
   * Largest body of a snapshot restore or subject import (`AGENTSTATE_IMPORT_MAX_BYTES`);
   * those bodies are parsed as they arrive, not held as text, so they may be large.
   */
  importMaxBytes: z.coerce
    .number()
    .int()
    .min(1)
    .default(1024 * 1024 * 1024),
  /** Automatic session checkpoints into snapshot storage (`auto-checkpoints.ts`); off by default. */
  checkpoints: z.object({
    /** `AGENTSTATE_CHECKPOINT_EVERY_MESSAGES`: after every this many messages; 0 never. */
    everyMessages: z.coerce.number().int().min(0).default(0),
    /** `AGENTSTATE_CHECKPOINT_ON_END`: `true` checkpoints a session before it ends. */
    onEnd: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
  }),
  /** `source_environment` of the snapshots and exports this worker writes (`AGENTSTATE_ENVIRONMENT`). */
  environment: z.string().min(1).default('default'),
  limits: z.object({
    /** Seconds without a call after which a session ends. */
    sessionIdleTimeoutSeconds: z.coerce.number().int().min(1).default(1800),
    /** Seconds after opening at which a session ends, however active. */
    sessionMaxLifetimeSeconds: z.coerce.number().int().min(1).default(86_400),
    sessionQuotaBytes: z.coerce
      .number()
      .int()
      .min(0)
      .default(50 * 1024 * 1024),
    persistentQuotaBytes: z.coerce
      .number()
      .int()
      .min(0)
      .default(100 * 1024 * 1024),
    /** Versions kept per persistent key, counting the current one. */
    persistentRetention: z.coerce.number().int().min(1).default(100),
    /** Days the audit trail keeps a record (`AGENTSTATE_AUDIT_RETENTION_DAYS`). */
    auditRetentionDays: z.coerce.number().int().min(1).default(90),
    /** System snapshots kept; creating one more removes the oldest (`AGENTSTATE_SNAPSHOT_RETENTION`). */
    snapshotRetention: z.coerce.number().int().min(1).default(20),
    sharedQuotaBytes: z.coerce
      .number()
      .int()
      .min(0)
      .default(500 * 1024 * 1024),
    /** Seconds a checkpoint thread lives after its last write unless the saver says otherwise; 0 for ever. */
    checkpointTtlSeconds: z.coerce.number().int().min(0).default(0),
    /** Checkpoints kept per thread and checkpoint namespace; 0 keeps all. */
    checkpointRetention: z.coerce.number().int().min(0).default(0),
  }),
  backups: z
    .object({
      /** Complete backups kept per tenant; older ones go after a new one succeeded. */
      retention: z.coerce.number().int().min(1).default(7),
      /** Plaintext bytes per encrypted chunk: memory per running backup is a few of these. */
      chunkBytes: z.coerce
        .number()
        .int()
        .min(1024)
        .max(2 * 1024 * 1024)
        .default(1024 * 1024),
      /** The secret holding the vault's master keys. */
      vaultSecret: z.string().min(1).default('agentstate-vault-key'),
      /**
       * The platform operator's tenant (`AGENTSTATE_PLATFORM_TENANT`): an operator of it
       * backs up and restores every tenant with a full backup. Unset, there is none.
       */
      platformTenant: idSchema.optional(),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type Limits = Config['limits'];
/** The limits a worker has when no variable sets them. */
export const defaultLimits: Limits = configSchema.shape.limits.parse({});
export type ConfigOverrides = Partial<Pick<Config, 'port' | 'host' | 'store' | 'dataDir' | 'logLevel'>>;

/** Reads the configuration from `env`, then applies `overrides` (from CLI flags). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const fromEnv = {
    port: env['PORT'],
    host: env['HOST'],
    store: env['AGENTSTATE_STORE'],
    dataDir: env['AGENTSTATE_DATA_DIR'],
    logLevel: env['LOG_LEVEL'],
    dapr: {
      httpPort: env['DAPR_HTTP_PORT'],
      grpcPort: env['DAPR_GRPC_PORT'],
      host: env['DAPR_HOST'],
      apiToken: env['DAPR_API_TOKEN'],
      stateStore: env['AGENTSTATE_STATE_STORE'],
      pubsub: env['AGENTSTATE_PUBSUB'],
      broadcastPubsub: env['AGENTSTATE_BROADCAST_PUBSUB'],
      blobBinding: env['AGENTSTATE_BLOB_BINDING'],
      secretStore: env['AGENTSTATE_SECRET_STORE'],
      sidecarWaitMs: env['AGENTSTATE_SIDECAR_WAIT_MS'],
    },
    shutdownGraceMs: env['AGENTSTATE_SHUTDOWN_GRACE_MS'],
    appApiToken: env['APP_API_TOKEN'],
    policy: env['AGENTSTATE_POLICY'],
    policyFile: env['AGENTSTATE_POLICY_FILE'],
    environment: env['AGENTSTATE_ENVIRONMENT'],
    mcpAllowedHosts: env['AGENTSTATE_MCP_ALLOWED_HOSTS'],
    importMaxBytes: env['AGENTSTATE_IMPORT_MAX_BYTES'],
    checkpoints: {
      everyMessages: env['AGENTSTATE_CHECKPOINT_EVERY_MESSAGES'],
      onEnd: env['AGENTSTATE_CHECKPOINT_ON_END'],
    },
    limits: {
      sessionIdleTimeoutSeconds: env['AGENTSTATE_SESSION_IDLE_TIMEOUT_SECONDS'],
      sessionMaxLifetimeSeconds: env['AGENTSTATE_SESSION_MAX_LIFETIME_SECONDS'],
      sessionQuotaBytes: env['AGENTSTATE_SESSION_QUOTA_BYTES'],
      persistentQuotaBytes: env['AGENTSTATE_PERSISTENT_QUOTA_BYTES'],
      persistentRetention: env['AGENTSTATE_PERSISTENT_RETENTION'],
      auditRetentionDays: env['AGENTSTATE_AUDIT_RETENTION_DAYS'],
      snapshotRetention: env['AGENTSTATE_SNAPSHOT_RETENTION'],
      sharedQuotaBytes: env['AGENTSTATE_SHARED_QUOTA_BYTES'],
      checkpointTtlSeconds: env['AGENTSTATE_CHECKPOINT_TTL_SECONDS'],
      checkpointRetention: env['AGENTSTATE_CHECKPOINT_RETENTION'],
    },
    backups: {
      retention: env['AGENTSTATE_BACKUP_RETENTION'],
      chunkBytes: env['AGENTSTATE_BACKUP_CHUNK_BYTES'],
      platformTenant: env['AGENTSTATE_PLATFORM_TENANT'],
      vaultSecret: env['AGENTSTATE_VAULT_SECRET'],
    },
  };
  const parsed = configSchema.safeParse(withoutEmpty({ ...fromEnv, ...withoutEmpty(overrides) }));
  if (!parsed.success) throw new Error(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The adapter family the worker runs on. */
export function resolveStore(config: Config): 'embedded' | 'dapr' {
  if (config.store !== 'auto') return config.store;
  return config.dapr.httpPort === undefined ? 'embedded' : 'dapr';
}

// Unset and empty variables both mean "use the default".
function withoutEmpty<T extends object>(record: T): T {
  return Object.fromEntries(
    Object.entries(record)
      .filter(([, value]) => value !== undefined && value !== '')
      .map(([key, value]) => [key, isPlainObject(value) ? withoutEmpty(value) : value]),
  ) as T;
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
