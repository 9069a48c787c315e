import { createHmac } from 'node:crypto';
import { AppError, isAppError } from '../core/errors.ts';
import type { SecretSource } from '../ports/secret-source.ts';

/** The secret that holds the vault's master keys (`deploy/dev-secrets.json` has a development one). */
export const VAULT_KEY_SECRET = 'agentstate-vault-key';

/** One master key with its id. */
export interface VaultKey {
  /** A fingerprint of the key (HMAC-SHA256 of a fixed label), safe to store in manifests. */
  readonly id: string;
  readonly key: Buffer;
}

/**
 * The vault: master keys read through the secret store each time they are needed, so
 * a rotated secret applies without a restart and no key outlives its use in memory
 * longer than a backup.
 *
 * The secret holds one or more base64-encoded 32-byte keys separated by commas, newest
 * first. The first encrypts new backups; every one listed decrypts the backups made
 * with it. Rotating is prepending a new key; removing a key makes the backups made
 * with it unreadable (`DecryptionFailed`).
 */
export interface Vault {
  /** The key new backups are made with. `VaultLocked` if the secret store is down or holds no usable key. */
  current(): Promise<VaultKey>;
  /**
   * The key with id `id`. `VaultLocked` as for `current`; `DecryptionFailed` if the
   * vault holds no such key (a wrong or removed key).
   */
  byId(id: string): Promise<VaultKey>;
}

const KEY_BYTES = 32;

export function createVault(secrets: SecretSource, secretName = VAULT_KEY_SECRET): Vault {
  async function keys(): Promise<VaultKey[]> {
    let text: string;
    try {
      text = await secrets.get(secretName);
    } catch (error) {
      if (isAppError(error, 'SecretNotFound'))
        throw locked(`the secret store ${secrets.name} has no secret ${JSON.stringify(secretName)}`, error);
      throw locked(`the secret store ${secrets.name} cannot be read`, error);
    }
    const parsed = text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((item, position) => {
        const key = Buffer.from(item, 'base64');
        if (key.byteLength !== KEY_BYTES || key.toString('base64') !== item)
          throw locked(
            `key ${position + 1} of secret ${JSON.stringify(secretName)} is not the base64 encoding of ${KEY_BYTES} bytes`,
          );
        return { id: keyIdOf(key), key };
      });
    if (parsed.length === 0) throw locked(`the secret ${JSON.stringify(secretName)} is empty`);
    return parsed;
  }

  return {
    async current() {
      const [first] = await keys();
      // `keys()` never answers an empty list; the check satisfies the compiler.
      if (first === undefined) throw locked(`the secret ${JSON.stringify(secretName)} is empty`);
      return first;
    },
    async byId(id) {
      const found = (await keys()).find((candidate) => candidate.id === id);
      if (found === undefined)
        throw new AppError(
          'DecryptionFailed',
          `the backup was made with vault key ${id}, which the vault does not hold (a wrong or removed master key)`,
        );
      return found;
    },
  };
}

/** The id of a master key: it names the key without revealing anything of it. */
export function keyIdOf(key: Uint8Array): string {
  return createHmac('sha256', key).update('agentstate vault key id').digest('hex').slice(0, 16);
}

function locked(message: string, cause?: unknown): AppError {
  return new AppError('VaultLocked', message, cause === undefined ? {} : { cause });
}
