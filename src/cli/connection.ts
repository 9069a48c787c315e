import { Option, type Command } from 'commander';
import { AppError } from '../core/errors.ts';
import { idSchema } from '../core/identity/caller.ts';

/** The flags every command that calls the service takes. */
export interface ConnectionFlags {
  readonly url?: string;
  readonly token?: string;
  readonly daprAppId?: string;
}

/** Where and how the CLI reaches the service. */
export interface Connection {
  /** Requests go to `${baseUrl}${path}`. */
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Names the target in messages, without credentials. */
  readonly describe: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Adds `--url`, `--token` and `--dapr-app-id` to `command`. */
export function withConnection(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', `the service's URL (env AGENTSTATE_URL, default ${DEFAULT_URL})`))
    .addOption(
      new Option(
        '--token <token>',
        'bearer token (env AGENTSTATE_TOKEN; prefer it: flags show in process lists)',
      ),
    )
    .addOption(
      new Option(
        '--dapr-app-id <app-id>',
        'call through the local Dapr sidecar (DAPR_HTTP_PORT, DAPR_API_TOKEN) to this app id, e.g. agentstate',
      ).conflicts('url'),
    );
}

/**
 * Resolves the connection from flags, then the environment: through the local sidecar's
 * service invocation with `--dapr-app-id` (inside a pod: `DAPR_HTTP_PORT`, and
 * `DAPR_API_TOKEN` when the sidecar wants one), else directly to `--url`. The bearer
 * token travels either way; daprd passes it on to the app.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Connection {
  const token = nonEmpty(flags.token) ?? nonEmpty(env['AGENTSTATE_TOKEN']);
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const appId = nonEmpty(flags.daprAppId);
  if (appId !== undefined) {
    if (!idSchema.safeParse(appId).success)
      throw new AppError('InvalidInput', `--dapr-app-id ${JSON.stringify(appId)} is not a valid Dapr app id`);
    const port = nonEmpty(env['DAPR_HTTP_PORT']);
    if (port === undefined || !/^\d{1,5}$/.test(port))
      throw new AppError(
        'InvalidInput',
        '--dapr-app-id needs DAPR_HTTP_PORT, the HTTP port of the local Dapr sidecar',
      );
    const apiToken = nonEmpty(env['DAPR_API_TOKEN']);
    if (apiToken !== undefined) headers['dapr-api-token'] = apiToken;
    const host = nonEmpty(env['DAPR_HOST']) ?? '127.0.0.1';
    return {
      baseUrl: `http://${host}:${port}/v1.0/invoke/${appId}/method`,
      headers,
      describe: `app ${appId} through the Dapr sidecar on port ${port}`,
    };
  }
  const url = (nonEmpty(flags.url) ?? nonEmpty(env['AGENTSTATE_URL']) ?? DEFAULT_URL).replace(/\/+$/, '');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new AppError('InvalidInput', `--url ${JSON.stringify(url)} is not an http(s) URL`);
  return { baseUrl: url, headers, describe: url };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
