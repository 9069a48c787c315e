import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliShell, type CliRun, type CliShell } from './cli-runner.ts';
import type { CliTarget } from './cli-suite.ts';
import { expectError } from './capability-suite.ts';

const ok = (run: CliRun) => {
  expect(run.exitCode, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout);
};
const failed = (run: CliRun, exitCode: number, code: string) => {
  expect(run.exitCode, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(exitCode);
  expect(run.stderr).toContain(`agentstate: ${code}: `);
};

/**
 * The backup round trip as an operator runs it, through the CLI (and REST to write and
 * read state): write state, back up, change and delete state, restore, read back exactly
 * what was backed up (values and version history), and shared-state CAS after; then the
 * bad input the CLI and the routes must refuse, each leaving state as it was.
 */
export function backupRoundTripSuite(label: string, start: () => Promise<CliTarget>): void {
  describe(`backups through the CLI and REST (${label})`, { timeout: 180_000 }, () => {
    let target: CliTarget;
    let shell: CliShell;
    let token: string;
    let sh: (line: string) => Promise<CliRun>;
    const api = (method: string, path: string, body?: unknown) =>
      target.worker.api.request(method, path, body, { token });

    beforeAll(async () => {
      target = await start();
      const tenant = `bk-${Date.now().toString(36)}`;
      token = await target.worker.token(tenant, 'ops', ['operator']);
      shell = await createCliShell({ ...target.env, AGENTSTATE_TOKEN: token });
      sh = (line) => shell.run(line.replaceAll('$TARGET', target.flags));
    }, 180_000);
    afterAll(async () => {
      await shell?.close();
      await target?.close();
    });

    /** What a reader sees: each key's versions (value, version numbers aside) and shared values. */
    async function readBack() {
      const agents: Record<string, unknown> = {};
      for (const agent of ['bot-1', 'bot-2']) {
        const listed = await api('GET', `/v1/agents/${agent}/state`);
        const keys: Record<string, unknown> = {};
        for (const { key } of listed.body.entries) {
          const history = await api('GET', `/v1/agents/${agent}/state/${encodeURIComponent(key)}/history`);
          keys[key] = history.body.versions.map(
            ({ value, created_at, updated_at }: Record<string, unknown>) => ({
              value,
              created_at,
              updated_at,
            }),
          );
        }
        agents[agent] = keys;
      }
      const shared: Record<string, unknown> = {};
      for (const { key } of (await api('GET', '/v1/shared/keys')).body.entries) {
        const entry = await api('GET', `/v1/shared/keys/${encodeURIComponent(key)}`);
        shared[key] = { value: entry.body.value, owner_agent: entry.body.owner_agent };
      }
      return { agents, shared };
    }

    it('restores exactly what was backed up, with versions above any the keys had, and CAS after', async () => {
      for (let i = 0; i < 5; i++) {
        for (const value of [{ draft: i }, { final: i, text: 'x'.repeat(200 * i) }])
          expect((await api('PUT', `/v1/agents/bot-1/state/note%2F${i}`, value)).status).toBe(200);
      }
      expect((await api('PUT', '/v1/agents/bot-2/state/plan', ['a', 'b'])).status).toBe(200);
      const put = (key: string, value: unknown, version: number) =>
        target.worker.api.request('PUT', `/v1/shared/keys/${key}`, value, {
          token,
          headers: { 'if-match': `"${version}"` },
        });
      expect((await put('counter', 1, 0)).status).toBe(200);
      expect((await put('flag', true, 0)).status).toBe(200);
      const before = await readBack();

      const created = ok(await sh('agentstate backup create --wait --json $TARGET'));
      expect(created).toMatchObject({ status: 'complete', scope: 'full' });
      expect(created.file_size_bytes).toBeGreaterThan(0);
      const listed = ok(await sh('agentstate backup list --json $TARGET'));
      expect(listed.backups[0]).toMatchObject({
        backup_id: created.backup_id,
        scope: 'full',
        file_size_bytes: created.file_size_bytes,
      });

      const versionBefore = (await api('GET', '/v1/agents/bot-1/state/note%2F0')).body.version as number;
      await api('PUT', '/v1/agents/bot-1/state/note%2F0', 'changed');
      await api('DELETE', '/v1/agents/bot-1/state/note%2F1');
      await api('PUT', '/v1/agents/bot-2/state/extra', 'not in the backup');
      expect((await put('counter', 2, 1)).status).toBe(200);
      await target.worker.api.request('DELETE', '/v1/shared/keys/flag', undefined, { token });

      failed(await sh(`agentstate backup restore ${created.backup_id} $TARGET`), 2, 'InvalidInput');
      expect((await api('GET', '/v1/agents/bot-1/state/note%2F0')).body.value).toBe('changed');

      const restored = ok(await sh(`agentstate backup restore ${created.backup_id} --yes --json $TARGET`));
      expect(restored).toMatchObject({
        restored: true,
        agents_restored: ['bot-1', 'bot-2'],
        shared_state_restored: true,
      });
      expect(restored.safety_backup_id).not.toBe(created.backup_id);
      expect(await readBack()).toEqual(before);
      const after = (await api('GET', '/v1/agents/bot-1/state/note%2F0')).body.version as number;
      expect(after).toBeGreaterThan(versionBefore + 1);

      // A writer holding a version from before the restore loses; one that re-reads wins.
      expectError(await put('counter', 3, 2), 409, 'VersionConflict', ['retry']);
      const counter = await api('GET', '/v1/shared/keys/counter');
      expect(counter.body.value).toBe(1);
      expect((await put('counter', 2, counter.body.version)).status).toBe(200);

      const ids = ok(await sh('agentstate backup list --json $TARGET')).backups.map(
        (b: { backup_id: string }) => b.backup_id,
      );
      expect(ids).toEqual([restored.safety_backup_id, created.backup_id]);
    });

    it('verifies the latest backup in full and by sample, and exports it', async () => {
      const whole = ok(await sh('agentstate backup verify --latest --json $TARGET'));
      expect(whole).toMatchObject({ verified: true, sample_percent: 100 });
      const sample = ok(await sh(`agentstate backup verify ${whole.backup_id} --sample 50 --json $TARGET`));
      expect(sample).toMatchObject({ verified: true, sample_percent: 50 });
      expect(sample.parts_checked).toBeGreaterThan(0);
      failed(await sh('agentstate backup verify $TARGET'), 2, 'InvalidInput');

      const out = join(shell.dir, 'exports');
      await mkdir(out);
      const exported = ok(await sh(`agentstate backup export ${whole.backup_id} ${out} --json $TARGET`));
      expect(exported.exported_path).toBe(join(out, `${whole.backup_id}.agentstate-backup`));
      expect(exported.size_bytes).toBeGreaterThan(0);
      failed(
        await sh(`agentstate backup export ${whole.backup_id} ${join(out, 'no', 'such', 'dir')} $TARGET`),
        1,
        'IoError',
      );
      expect(await readdir(out)).toEqual([`${whole.backup_id}.agentstate-backup`]);
    });

    it('answers an unknown backup with BackupNotFound (exit 4) and the list_backups hint, writing nothing', async () => {
      const unknown = 'bkp-20200101T000000000Z-00000000';
      failed(await sh(`agentstate backup restore ${unknown} --yes $TARGET`), 4, 'BackupNotFound');
      failed(await sh(`agentstate backup verify ${unknown} $TARGET`), 4, 'BackupNotFound');
      expectError(await api('POST', `/v1/backups/${unknown}/restore`, {}), 404, 'BackupNotFound', [
        'list_backups',
      ]);
      expectError(
        await api('POST', `/v1/backups/${unknown}/export`, { path: shell.dir }),
        404,
        'BackupNotFound',
        ['list_backups'],
      );
      expectError(await api('POST', '/v1/backups/not-an-id/restore', {}), 400, 'InvalidInput');
      expectError(await api('POST', '/v1/backups', { agent: '../x' }), 400, 'InvalidInput');
      expect(ok(await sh('agentstate backup list --json $TARGET')).count).toBe(2);
    });

    it('exports the time of the last successful backup and verification on /metrics', async () => {
      const metrics = await (await fetch(`${target.worker.worker.url}/metrics`)).text();
      expect(metrics).toMatch(/agentstate_backup_last_success_timestamp_seconds\{scope="full"\} \d+/);
      expect(metrics).toMatch(/agentstate_backup_verify_last_success_timestamp_seconds\{scope="full"\} \d+/);
    });
  });
}
