import { stringify } from 'yaml';
import type { AzuriteServer } from './azurite.ts';
import type { PostgresServer } from './postgres.ts';
import type { RedisServer } from './redis.ts';

// Dapr component documents for the servers the harness starts. Each builder answers one
// YAML document; `startDaprd` writes them to its resources dir.

export interface ComponentOptions {
  /** App ids that may use the component; every app when absent. */
  readonly scopes?: readonly string[];
  /** More metadata entries, e.g. `tableName`; they win over the builder's own. */
  readonly metadata?: Readonly<Record<string, string>>;
}

function component(
  name: string,
  type: string,
  version: string,
  metadata: Record<string, string>,
  options: ComponentOptions,
): string {
  const entries = Object.entries({ ...metadata, ...options.metadata }).map(([key, value]) => ({
    name: key,
    value,
  }));
  return stringify({
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name },
    spec: { type, version, metadata: entries },
    ...(options.scopes === undefined ? {} : { scopes: [...options.scopes] }),
  });
}

/**
 * `state.redis` with `keyPrefix: none`, so keys are stored exactly as agentstate writes
 * them and two app ids share one keyspace.
 */
export function redisStateStore(
  name: string,
  redis: Pick<RedisServer, 'host' | 'port'>,
  options: ComponentOptions = {},
): string {
  return component(
    name,
    'state.redis',
    'v1',
    { redisHost: `${redis.host}:${redis.port}`, redisPassword: '', keyPrefix: 'none' },
    options,
  );
}

export interface PostgresStateStoreOptions extends ComponentOptions {
  /**
   * Both versions default to a table named `state` with different columns, so a v1 and a
   * v2 store in one database need `tableName` (v1) or `tablePrefix` (v2) in `metadata`.
   * @default 'v1'
   */
  readonly version?: 'v1' | 'v2';
}

/**
 * `state.postgresql` with `keyPrefix: none`. daprd applies the key prefix strategy
 * itself, before any store sees the key, so `none` works for every state store.
 */
export function postgresStateStore(
  name: string,
  pg: Pick<PostgresServer, 'connectionString'>,
  options: PostgresStateStoreOptions = {},
): string {
  return component(
    name,
    'state.postgresql',
    options.version ?? 'v1',
    { connectionString: pg.connectionString, keyPrefix: 'none' },
    options,
  );
}

export interface RedisPubSubOptions extends ComponentOptions {
  /**
   * Consumer group of the streams. Subscribers with the same id compete for events;
   * `{uuid}` gives each daprd its own group, so each receives every event.
   * @default the app id
   */
  readonly consumerID?: string;
  /** Caps each stream (XADD MAXLEN ~), since broadcast groups leave entries behind. */
  readonly maxLenApprox?: number;
}

/** `pubsub.redis` (Redis streams). */
export function redisPubSub(
  name: string,
  redis: Pick<RedisServer, 'host' | 'port'>,
  options: RedisPubSubOptions = {},
): string {
  const metadata: Record<string, string> = { redisHost: `${redis.host}:${redis.port}`, redisPassword: '' };
  if (options.consumerID !== undefined) metadata['consumerID'] = options.consumerID;
  if (options.maxLenApprox !== undefined) metadata['maxLenApprox'] = String(options.maxLenApprox);
  return component(name, 'pubsub.redis', 'v1', metadata, options);
}

/** `bindings.localstorage`: files under `rootPath`. */
export function localStorageBinding(name: string, rootPath: string, options: ComponentOptions = {}): string {
  return component(name, 'bindings.localstorage', 'v1', { rootPath }, options);
}

/**
 * `bindings.azure.blobstorage` against Azurite. A custom `endpoint` makes the component
 * use path-style URLs (`endpoint/account/container`); it creates the container at init.
 */
export function azureBlobBinding(
  name: string,
  azurite: Pick<AzuriteServer, 'accountName' | 'accountKey' | 'blobEndpoint'>,
  container: string,
  options: ComponentOptions = {},
): string {
  return component(
    name,
    'bindings.azure.blobstorage',
    'v1',
    {
      accountName: azurite.accountName,
      accountKey: azurite.accountKey,
      endpoint: azurite.blobEndpoint,
      containerName: container,
      decodeBase64: 'false',
    },
    options,
  );
}

export interface LocalFileSecretStoreOptions extends ComponentOptions {
  /** Joins the keys of nested JSON objects into one secret name. @default ':' */
  readonly nestedSeparator?: string;
  /** Whether a nested object is one secret with several keys. @default false */
  readonly multiValued?: boolean;
}

/** `secretstores.local.file`: secrets from a JSON file. */
export function localFileSecretStore(
  name: string,
  jsonFilePath: string,
  options: LocalFileSecretStoreOptions = {},
): string {
  return component(
    name,
    'secretstores.local.file',
    'v1',
    {
      secretsFile: jsonFilePath,
      nestedSeparator: options.nestedSeparator ?? ':',
      multiValued: String(options.multiValued ?? false),
    },
    options,
  );
}

export interface LocalEnvSecretStoreOptions extends ComponentOptions {
  /** Only variables with this prefix are secrets, named without it. */
  readonly prefix?: string;
}

/** `secretstores.local.env`: secrets from daprd's environment (see `startDaprd`'s `env`). */
export function localEnvSecretStore(name: string, options: LocalEnvSecretStoreOptions = {}): string {
  return component(
    name,
    'secretstores.local.env',
    'v1',
    options.prefix === undefined ? {} : { prefix: options.prefix },
    options,
  );
}
