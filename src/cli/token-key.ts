import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createEnvFileSecretSource, secretEnvName } from '../adapters/embedded/index.ts';
import { configSchema } from '../config.ts';
import { isAppError } from '../core/errors.ts';
import { TOKEN_KEY_SECRET } from '../core/identity/tokens.ts';

/**
 * The one variable that holds the token key for `agentstate serve` on the embedded
 * store and for `agentstate token issue`: the embedded secret source's name for the
 * `agentstate-token-key` secret, `AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY`.
 */
export const TOKEN_KEY_ENV = secretEnvName(TOKEN_KEY_SECRET);

/** The embedded data folder: `dataDir` if given, else `AGENTSTATE_DATA_DIR`, else the worker's default. */
export function resolveDataDir(env: NodeJS.ProcessEnv, dataDir?: string): string {
  return configSchema.shape.dataDir.parse(dataDir ?? env['AGENTSTATE_DATA_DIR']);
}

/**
 * The token key exactly as an embedded worker on `dataDir` reads it, through the same
 * secret source: `TOKEN_KEY_ENV`, else `<dataDir>/secrets.json` (where `npm start`
 * generates a development key). `undefined` when neither holds one; a secrets file that
 * cannot be read is `Unavailable`.
 */
export async function readTokenKey(env: NodeJS.ProcessEnv, dataDir: string): Promise<string | undefined> {
  const file = join(dataDir, 'secrets.json');
  const secrets = createEnvFileSecretSource({ env, ...(existsSync(file) ? { file } : {}) });
  try {
    return await secrets.get(TOKEN_KEY_SECRET);
  } catch (error) {
    if (isAppError(error, 'SecretNotFound')) return undefined;
    throw error;
  }
}
