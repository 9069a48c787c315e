import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEnvFileSecretSource } from '../adapters/embedded/index.ts';
import { expectAppError } from '../testing/conformance/assertions.ts';
import { createVault, keyIdOf } from './vault.ts';

const vaultOf = (value: string | undefined) =>
  createVault(
    createEnvFileSecretSource({
      env: value === undefined ? {} : { AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY: value },
    }),
  );

describe('the vault', () => {
  it('encrypts with the first key and finds every listed key by its id', async () => {
    const [newer, older] = [randomBytes(32), randomBytes(32)];
    const vault = vaultOf(`${newer.toString('base64')}, ${older.toString('base64')}`);
    expect((await vault.current()).key).toEqual(newer);
    expect((await vault.byId(keyIdOf(older))).key).toEqual(older);
    expect(keyIdOf(newer)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(newer)).not.toBe(keyIdOf(older));
  });

  it('is VaultLocked without the secret, with an empty one, or with a key that is not 32 bytes of base64', async () => {
    for (const value of [
      undefined,
      ' , ',
      randomBytes(16).toString('base64'),
      'not base64 at all!',
      `${randomBytes(32).toString('base64')},x`,
    ]) {
      await expectAppError(vaultOf(value).current(), 'VaultLocked');
    }
  });

  it('is VaultLocked when the secret store cannot be read', async () => {
    const vault = createVault(
      createEnvFileSecretSource({ env: {}, file: '/nonexistent/agentstate/secrets.json' }),
    );
    await expectAppError(vault.current(), 'VaultLocked');
  });

  it('answers DecryptionFailed for a key id it does not hold', async () => {
    const vault = vaultOf(randomBytes(32).toString('base64'));
    const error = await expectAppError(vault.byId(keyIdOf(randomBytes(32))), 'DecryptionFailed');
    expect(error.recovery[0]?.action).toBe('check_vault');
  });
});
