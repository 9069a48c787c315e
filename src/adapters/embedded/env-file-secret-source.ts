import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import type { SecretSource } from '../../ports/secret-source.ts';

export interface EnvFileSecretSourceOptions {
  /** Read for `AGENTSTATE_SECRET_<NAME>` variables. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** A JSON file `{ "name": "value" }`, read again on every lookup so edits apply at once. */
  readonly file?: string;
}

const secretsFileSchema = z.record(z.string(), z.string());

/**
 * The environment variable that holds secret `name`: `AGENTSTATE_SECRET_` and the name
 * upper-cased with every character other than A-Z and 0-9 replaced by `_`, so
 * `vault-master-key` is `AGENTSTATE_SECRET_VAULT_MASTER_KEY`. Names that differ only
 * in those characters share a variable.
 */
export function secretEnvName(name: string): string {
  return `AGENTSTATE_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * A `SecretSource` over environment variables and an optional JSON file; a variable
 * wins over the file, so a deployment can override one secret without editing it. An
 * empty variable or entry counts as missing (`SecretNotFound`). A configured file that
 * cannot be read or is not an object of strings makes `init()` and every lookup that
 * reaches it fail with `Unavailable`.
 */
export function createEnvFileSecretSource(options: EnvFileSecretSourceOptions = {}): SecretSource {
  const { env = process.env, file } = options;

  async function readSecretsFile(path: string): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new AppError('Unavailable', `the secrets file ${path} cannot be read`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new AppError('Unavailable', `the secrets file ${path} is not valid JSON`, { cause: error });
    }
    const result = secretsFileSchema.safeParse(parsed);
    if (!result.success) {
      throw new AppError('Unavailable', `the secrets file ${path} must be a JSON object of strings`, {
        cause: result.error,
      });
    }
    return result.data;
  }

  return {
    name: 'embedded-env-file',

    async init() {
      // Surfaces a misconfigured file at startup rather than at the first lookup.
      if (file !== undefined) await readSecretsFile(file);
    },

    async close() {
      // Nothing is held open.
    },

    async get(name) {
      if (name.length === 0) throw new AppError('InvalidInput', 'secret name must not be empty');
      const fromEnv = env[secretEnvName(name)];
      if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
      if (file !== undefined) {
        const secrets = await readSecretsFile(file);
        // Own entries only: `constructor` is not a secret.
        const fromFile = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
        if (fromFile !== undefined && fromFile !== '') return fromFile;
      }
      throw new AppError('SecretNotFound', `secret ${JSON.stringify(name)} is not set`, {
        details: { env_var: secretEnvName(name) },
      });
    },
  };
}
