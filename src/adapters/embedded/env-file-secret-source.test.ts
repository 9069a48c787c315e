import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAppError } from '../../testing/conformance/assertions.ts';
import { createEnvFileSecretSource, secretEnvName } from './env-file-secret-source.ts';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentstate-secrets-'));
  file = join(dir, 'secrets.json');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('secretEnvName', () => {
  it('upper-cases the name and turns everything but letters and digits into underscores', () => {
    expect(secretEnvName('vault-master-key')).toBe('AGENTSTATE_SECRET_VAULT_MASTER_KEY');
    expect(secretEnvName('token.key/v2')).toBe('AGENTSTATE_SECRET_TOKEN_KEY_V2');
    expect(secretEnvName('schlüssel')).toBe('AGENTSTATE_SECRET_SCHL_SSEL');
  });
});

describe('createEnvFileSecretSource', () => {
  it('reads the mapped environment variable first, then the file', async () => {
    await writeFile(file, JSON.stringify({ 'vault-master-key': 'from file', 'token-key': 'file only' }));
    const secrets = createEnvFileSecretSource({
      env: { AGENTSTATE_SECRET_VAULT_MASTER_KEY: 'from env' },
      file,
    });
    await secrets.init();
    expect(await secrets.get('vault-master-key')).toBe('from env');
    expect(await secrets.get('token-key')).toBe('file only');
  });

  it('sees edits to the file without a restart', async () => {
    await writeFile(file, JSON.stringify({ k: 'one' }));
    const secrets = createEnvFileSecretSource({ env: {}, file });
    await secrets.init();
    expect(await secrets.get('k')).toBe('one');
    await writeFile(file, JSON.stringify({ k: 'two' }));
    expect(await secrets.get('k')).toBe('two');
  });

  it('treats empty values and inherited properties as missing', async () => {
    await writeFile(file, JSON.stringify({ blank: '' }));
    const secrets = createEnvFileSecretSource({ env: { AGENTSTATE_SECRET_EMPTY: '' }, file });
    for (const name of ['empty', 'blank', 'constructor', '__proto__', 'toString']) {
      await expectAppError(secrets.get(name), 'SecretNotFound');
    }
    await expectAppError(createEnvFileSecretSource({ env: {} }).get('anything'), 'SecretNotFound');
  });

  it('is Unavailable while a configured file is missing, not JSON, or not an object of strings', async () => {
    for (const content of [undefined, '{"k": "unterminated', '["k"]', '{"k": 1}']) {
      if (content !== undefined) await writeFile(file, content);
      const secrets = createEnvFileSecretSource({
        env: { AGENTSTATE_SECRET_FROM_ENV: 'still served' },
        file,
      });
      await expectAppError(secrets.init(), 'Unavailable');
      await expectAppError(secrets.get('k'), 'Unavailable');
      expect(await secrets.get('from-env')).toBe('still served');
    }
  });
});
