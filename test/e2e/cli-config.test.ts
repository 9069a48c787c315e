import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliShell, type CliShell } from '../../src/testing/api/cli-runner.ts';

// `agentstate config export|import` (spec/001) exactly as an operator types them,
// moving a configuration from a "dev" environment to another.
const dev = {
  AGENTSTATE_ENVIRONMENT: 'dev',
  AGENTSTATE_STORE: 'dapr',
  AGENTSTATE_POLICY: JSON.stringify({
    apps: {
      'agent-gateway': { tenant: 'acme', roles: ['agent'], actForAgents: true },
      'backup-job': { tenant: 'acme', roles: ['operator'], actForAgents: false },
    },
  }),
  AGENTSTATE_SHARED_QUOTA_BYTES: '1000000',
  AGENTSTATE_PERSISTENT_RETENTION: '7',
  AGENTSTATE_SESSION_IDLE_TIMEOUT_SECONDS: '600',
  AGENTSTATE_PUBSUB: 'dev-pubsub',
  AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY: 'the-token-key-value',
  APP_API_TOKEN: 'the-app-api-token-value',
};

let sh: CliShell;
beforeAll(async () => {
  sh = await createCliShell();
});
afterAll(() => sh?.close());

const withoutTime = (document: Record<string, unknown>) => ({ ...document, exported_at: undefined });

describe('agentstate config', () => {
  it('exports JSON or YAML by extension, the same document, with secret names and never their values', async () => {
    for (const file of ['dev.yaml', 'dev.json']) {
      const run = await sh.run(`agentstate config export ${file}`, dev);
      expect(run.exitCode, run.stderr).toBe(0);
    }
    const yamlText = await readFile(join(sh.dir, 'dev.yaml'), 'utf8');
    const json = JSON.parse(await readFile(join(sh.dir, 'dev.json'), 'utf8')) as Record<string, unknown>;
    expect(withoutTime(parseYaml(yamlText) as Record<string, unknown>)).toEqual(withoutTime(json));
    expect(json).toMatchObject({
      format_version: 1,
      source_environment: 'dev',
      store: 'dapr',
      policy: { apps: { 'agent-gateway': { tenant: 'acme', roles: ['agent'], actForAgents: true } } },
      limits: { sharedQuotaBytes: 1_000_000, persistentRetention: 7, sessionIdleTimeoutSeconds: 600 },
      components: { pubsub: 'dev-pubsub', stateStore: 'agentstate-state' },
    });
    expect(json['secrets']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'agentstate-token-key',
          env_var: 'AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY',
        }),
        expect.objectContaining({ env_var: 'APP_API_TOKEN' }),
      ]),
    );
    for (const text of [yamlText, JSON.stringify(json)]) {
      expect(text).not.toContain('the-token-key-value');
      expect(text).not.toContain('the-app-api-token-value');
    }
  });

  it('imports into the environment of `agentstate serve`, which then exports the same configuration', async () => {
    const run = await sh.run('agentstate config import dev.yaml --out-dir target');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Secrets to set[\s\S]*AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY/);
    expect(await readdir(join(sh.dir, 'target'))).toEqual(['agentstate.env', 'policy.yaml']);
    const again = await sh.run(
      'set -a; . ./target/agentstate.env; set +a; AGENTSTATE_ENVIRONMENT=dev agentstate config export again.json',
    );
    expect(again.exitCode, again.stderr).toBe(0);
    const original = JSON.parse(await readFile(join(sh.dir, 'dev.json'), 'utf8')) as Record<string, unknown>;
    const restored = JSON.parse(await readFile(join(sh.dir, 'again.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(withoutTime(restored)).toEqual(withoutTime(original));
  });

  it("keeps the target environment's own settings and policy, listing them as skipped", async () => {
    const run = await sh.run('agentstate config import dev.json --out-dir prod --json', {
      AGENTSTATE_PUBSUB: 'prod-pubsub',
      AGENTSTATE_POLICY_FILE: '/etc/agentstate/policy.yaml',
      APP_API_TOKEN: 'set-here',
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      skipped: Array<{ setting: string }>;
      secrets_to_set: Array<{ env_var: string }>;
    };
    expect(report.skipped.map((entry) => entry.setting).sort()).toEqual(['components.pubsub', 'policy']);
    expect(report.secrets_to_set.map((secret) => secret.env_var)).not.toContain('APP_API_TOKEN');
    const envFile = await readFile(join(sh.dir, 'prod', 'agentstate.env'), 'utf8');
    expect(envFile).not.toMatch(/AGENTSTATE_PUBSUB=|AGENTSTATE_POLICY_FILE=/);
    expect(existsSync(join(sh.dir, 'prod', 'policy.yaml'))).toBe(false);
  });

  it.each([
    [
      'a newer format_version',
      'newer.yaml',
      (text: string) => text.replace('format_version: 1', 'format_version: 2'),
      6,
      /IncompatibleVersion/,
    ],
    ['invalid YAML', 'broken.yaml', (text: string) => `${text}\n  : [unclosed`, 2, /not valid YAML/],
    ['a truncated file', 'truncated.json', (text: string) => text.slice(0, 40), 2, /not valid JSON/],
    ['an unknown top-level field', 'extra.yaml', (text: string) => `${text}extra: 1\n`, 2, /extra/],
  ])('refuses %s, writing nothing', async (_what, file, damage, exitCode, message) => {
    const source = file.endsWith('.json') ? 'dev.json' : 'dev.yaml';
    await writeFile(join(sh.dir, file), damage(await readFile(join(sh.dir, source), 'utf8')));
    const run = await sh.run(`agentstate config import ${file} --out-dir untouched`);
    expect(run.exitCode).toBe(exitCode);
    expect(run.stderr).toMatch(message);
    expect(existsSync(join(sh.dir, 'untouched'))).toBe(false);
  });

  it('refuses an unknown format and an output path it cannot write, leaving no file', async () => {
    const unknown = await sh.run('agentstate config export dev.txt', dev);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/\.json, \.yaml or \.yml/);
    const unwritable = await sh.run('agentstate config export missing/dir/dev.yaml', dev);
    expect(unwritable.exitCode).toBe(1);
    expect(unwritable.stderr).toMatch(/IoError: cannot write missing\/dir\/dev.yaml/);
    expect(existsSync(join(sh.dir, 'dev.txt'))).toBe(false);
    expect(existsSync(join(sh.dir, 'missing'))).toBe(false);
  });
});
