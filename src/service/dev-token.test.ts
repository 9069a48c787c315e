import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAppError } from '../testing/conformance/assertions.ts';
import {
  ensureDevelopmentTokenKey,
  formatDevelopmentTokenBanner,
  isDevelopmentTokenKey,
  issueDevelopmentToken,
} from './dev-token.ts';
import { verifyToken } from '../core/identity/tokens.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentstate-devkey-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;

describe('ensureDevelopmentTokenKey', () => {
  it('creates the data folder and a 0600 secrets.json with a marked key, then answers the same key', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const key = await ensureDevelopmentTokenKey(dataDir);
    expect(isDevelopmentTokenKey(key)).toBe(true);
    expect(key.length).toBeGreaterThan(40);
    const file = join(dataDir, 'secrets.json');
    expect(await readJson(file)).toEqual({ 'agentstate-token-key': key });
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await ensureDevelopmentTokenKey(dataDir)).toBe(key);
  });

  it('adds the key to a secrets.json that lacks it (or has it empty), keeping the other entries', async () => {
    const file = join(dir, 'secrets.json');
    await writeFile(file, JSON.stringify({ 'vault-master-key': 'v', 'agentstate-token-key': '' }));
    const key = await ensureDevelopmentTokenKey(dir);
    expect(await readJson(file)).toEqual({ 'vault-master-key': 'v', 'agentstate-token-key': key });
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('answers a configured key as it is, and it is not a development key', async () => {
    await writeFile(
      join(dir, 'secrets.json'),
      JSON.stringify({ 'agentstate-token-key': 'configured by ops' }),
    );
    const key = await ensureDevelopmentTokenKey(dir);
    expect(key).toBe('configured by ops');
    expect(isDevelopmentTokenKey(key)).toBe(false);
  });

  it('leaves a secrets.json it cannot read as an object of strings untouched (Unavailable)', async () => {
    const file = join(dir, 'secrets.json');
    for (const content of ['{"broken', '["a"]', '{"k": 1}']) {
      await writeFile(file, content);
      await expectAppError(ensureDevelopmentTokenKey(dir), 'Unavailable');
      expect(await readFile(file, 'utf8')).toBe(content);
    }
  });
});

describe('development token', () => {
  it('is an operator token of tenant dev for 24 h, and the banner shows it and says it is for development', async () => {
    const key = await ensureDevelopmentTokenKey(dir);
    const now = new Date('2030-01-01T00:00:00Z');
    const issued = await issueDevelopmentToken(key, now);
    expect(await verifyToken(key, issued.token, now)).toMatchObject({
      tenant: 'dev',
      subject: 'dev-operator',
      roles: ['operator'],
    });
    expect(issued.expiresAt.toISOString()).toBe('2030-01-02T00:00:00.000Z');
    const banner = formatDevelopmentTokenBanner(issued);
    expect(banner).toContain(`export AGENTSTATE_TOKEN=${issued.token}`);
    expect(banner).toMatch(/DEVELOPMENT TOKEN/);
    expect(banner).toMatch(/Not for production/);
    expect(banner).toContain('2030-01-02T00:00:00.000Z');
  });
});
