import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command, CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../core/identity/tokens.ts';
import { ensureDevelopmentTokenKey } from '../service/dev-token.ts';
import { registerToken } from './token.ts';

const key = 'cli-test-key';
// A data folder with no secrets.json, so that no key is found unless a test gives one.
const emptyDataDir = mkdtempSync(join(tmpdir(), 'agentstate-token-'));
const dataDirs = [emptyDataDir];
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});
const good = `--tenant acme --agent a1 --role agent --key ${key}`;

/**
 * Runs `agentstate token <args>` in process (`args` split on spaces); answers stdout,
 * stderr and the exit code main.ts would exit with.
 */
async function run(args: string, env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const program = new Command('agentstate').exitOverride().configureOutput({
    writeOut: (text) => void (stdout += text),
    writeErr: (text) => void (stderr += text),
  });
  registerToken(program, { env, out: (text) => void (stdout += text) });
  try {
    await program.parseAsync(['token', ...(args === '' ? [] : args.split(' '))], { from: 'user' });
    return { stdout, stderr, exitCode: 0 };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { stdout, stderr, exitCode: error.exitCode };
  }
}

describe('agentstate token issue', () => {
  it('prints a token that verifies with the same key', async () => {
    const { stdout, exitCode } = await run(`issue ${good}`);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(await verifyToken(key, stdout.trim())).toMatchObject({
      tenant: 'acme',
      subject: 'a1',
      roles: ['agent'],
    });
  });

  it('prints { token, expires_at, tenant, subject, roles } with --json, reading the key from AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY', async () => {
    const before = Date.now();
    const { stdout, exitCode } = await run(
      'issue --tenant acme --agent boss --role supervisor --role operator --ttl 60 --json',
      { AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY: key },
    );
    expect(exitCode).toBe(0);
    const printed = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual(['expires_at', 'roles', 'subject', 'tenant', 'token']);
    expect(printed).toMatchObject({ tenant: 'acme', subject: 'boss', roles: ['supervisor', 'operator'] });
    const verified = await verifyToken(key, String(printed['token']));
    expect(verified.expiresAt.toISOString()).toBe(printed['expires_at']);
    expect(verified.expiresAt.getTime() - before).toBeGreaterThan(58_000);
    expect(verified.expiresAt.getTime() - before).toBeLessThanOrEqual(61_000);
  });

  it('prefers --key over AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY', async () => {
    const { stdout } = await run(`issue ${good}`, { AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY: 'other' });
    await expect(verifyToken(key, stdout.trim())).resolves.toMatchObject({ subject: 'a1' });
  });

  it('without a key, signs with the one the embedded worker generated in its data folder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agentstate-token-'));
    dataDirs.push(dataDir);
    // What `npm start` does on a data folder with no token key.
    const generated = await ensureDevelopmentTokenKey(dataDir);
    const flags = '--tenant dev --agent a1 --role agent';
    const fromFlag = await run(`issue ${flags} --data-dir ${dataDir}`);
    expect(fromFlag.exitCode, fromFlag.stderr).toBe(0);
    await expect(verifyToken(generated, fromFlag.stdout.trim())).resolves.toMatchObject({ subject: 'a1' });
    const fromEnv = await run(`issue ${flags}`, { AGENTSTATE_DATA_DIR: dataDir });
    await expect(verifyToken(generated, fromEnv.stdout.trim())).resolves.toMatchObject({ subject: 'a1' });
    // The variable the worker reads wins over the file, for the worker and for the CLI alike.
    const fromVariable = await run(`issue ${flags} --data-dir ${dataDir}`, {
      AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY: key,
    });
    await expect(verifyToken(key, fromVariable.stdout.trim())).resolves.toMatchObject({ subject: 'a1' });
  });

  it.each([
    ['no tenant', `--agent a1 --role agent --key ${key}`, /--tenant: is required/],
    ['no agent', `--tenant acme --role agent --key ${key}`, /--agent: is required/],
    ['no role', `--tenant acme --agent a1 --key ${key}`, /--role: is required/],
    ['an unknown role', `${good} --role root`, /--role: Invalid option/],
    ['a repeated role', `${good} --role agent`, /--role: must not repeat/],
    ['a bad agent id', `--tenant acme --agent ../a1 --role agent --key ${key}`, /--agent: must be 1-63/],
    ['a ttl that is not a number', `${good} --ttl soon`, /--ttl: must be a whole number/],
    ['a zero ttl', `${good} --ttl 0`, /--ttl: must be a whole number/],
    ['a fractional ttl', `${good} --ttl 1.5`, /--ttl: must be a whole number/],
    [
      'no key',
      `--tenant acme --agent a1 --role agent --data-dir ${emptyDataDir}`,
      /--key: no token key: pass --key, set AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY, or run the embedded service once/,
    ],
    ['an unknown option', `${good} --admin`, /unknown option '--admin'/],
    ['an option without its value', `${good} --ttl`, /argument missing/],
  ])('exits 2 with a clear message and prints no token for %s', async (_name, args, message) => {
    const { stdout, stderr, exitCode } = await run(`issue ${args}`);
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });

  it('exits 2 when `token` is run without a subcommand', async () => {
    expect((await run('')).exitCode).toBe(2);
  });

  it('exits 0 with a token, and 2 on bad input, from the real command line as a Job sees it', async () => {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const agentstate = (args: string) =>
      promisify(execFile)(process.execPath, [main, 'token', 'issue', ...args.split(' ')], {
        env: { ...process.env, AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY: key },
      });
    const { stdout } = await agentstate('--tenant acme --agent a1 --role agent');
    await expect(verifyToken(key, stdout.trim())).resolves.toMatchObject({ subject: 'a1' });
    const failed = await agentstate('--tenant acme --agent a1 --role root').then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string; stdout: string },
    );
    expect(failed).toMatchObject({ code: 2, stdout: '' });
    expect(failed?.stderr).toMatch(/--role: Invalid option/);
  });
});
