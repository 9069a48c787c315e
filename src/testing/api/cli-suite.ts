import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChecksum } from '../../portability/checksum.ts';
import type { TestWorker } from './test-worker.ts';
import { createCliShell, type CliRun, type CliShell } from './cli-runner.ts';

/** How the CLI reaches the worker under test. */
export interface CliTarget {
  readonly worker: TestWorker;
  /** Flags naming the service on every command line, e.g. `--url http://127.0.0.1:1234`. */
  readonly flags: string;
  /** Environment the command lines run with, e.g. `DAPR_HTTP_PORT`. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

function succeeded(run: CliRun): string {
  expect(run.exitCode, `stderr: ${run.stderr}`).toBe(0);
  return run.stdout;
}

function failed(run: CliRun, exitCode: number, code: string): void {
  expect(run.exitCode, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(exitCode);
  expect(run.stderr).toContain(`agentstate: ${code}: `);
}

/**
 * Every snapshot and subject command of the operator CLI, typed as a user types it in a
 * shell, against a worker reached the way `start` says (`--url`, or `--dapr-app-id`
 * through a sidecar); then the bad input each must refuse, with its exit code.
 */
export function cliPortabilitySuite(label: string, start: () => Promise<CliTarget>): void {
  // Each command line starts a Node process: seconds each on a busy machine.
  describe(`the operator CLI for snapshots and subjects (${label})`, { timeout: 120_000 }, () => {
    let target: CliTarget;
    let shell: CliShell;
    let session: string;
    let tenant: string;
    let sh: (line: string, env?: Record<string, string>) => Promise<CliRun>;

    beforeAll(async () => {
      target = await start();
      tenant = `cli-${Date.now().toString(36)}`;
      const token = await target.worker.token(tenant, 'ops', ['operator']);
      shell = await createCliShell({ ...target.env, AGENTSTATE_TOKEN: token });
      sh = (line, env) => shell.run(line.replaceAll('$TARGET', target.flags), env);
      const api = target.worker.api;
      const opened = await api.request('POST', '/v1/sessions', { agent: 'bot' }, { token });
      session = opened.body.session_id;
      await api.request(
        'POST',
        `/v1/sessions/${session}/messages`,
        { role: 'user', content: 'hello' },
        { token },
      );
      await api.request(
        'POST',
        `/v1/sessions/${session}/events`,
        { type: 'step', data: { n: 1 } },
        { token },
      );
      for (const step of [1, 2]) await api.request('PUT', '/v1/agents/bot/state/plan', { step }, { token });
    }, 180_000);
    afterAll(async () => {
      await shell?.close();
      await target?.close();
    });

    it('agentstate --help shows examples and the exit codes', async () => {
      const help = succeeded(await sh('agentstate --help'));
      expect(help).toContain('Examples:');
      expect(help).toMatch(/Exit codes: 0 ok, 1 failure, 2 usage/);
      for (const command of [
        'session export',
        'session show',
        'session import',
        'subject export',
        'subject import',
      ])
        expect(succeeded(await sh(`agentstate ${command} --help`))).toContain('Examples:');
    });

    it('session export, show and import --dry-run, then import', async () => {
      succeeded(
        await sh(
          `agentstate session export bot --session ${session} --tag env=prod --tag reason=x --output snap.json $TARGET`,
        ),
      );
      const snapshot = JSON.parse(await readFile(join(shell.dir, 'snap.json'), 'utf8'));
      expect(snapshot).toMatchObject({ session_id: session, tags: { env: 'prod', reason: 'x' } });
      const stdout = JSON.parse(
        succeeded(await sh(`agentstate session export bot --session ${session} $TARGET`)),
      );
      expect(stdout.session_id).toBe(session);
      // Without --session: the agent's latest live session, the only one it has here.
      const latest = JSON.parse(succeeded(await sh(`agentstate session export bot $TARGET`)));
      expect(latest.session_id).toBe(session);

      const table = succeeded(await sh('agentstate session show snap.json'));
      for (const field of [
        'schema_version',
        'agent_id',
        'session_id',
        'status',
        'messages',
        'event_log_count',
        'source_environment',
        'exported_at',
      ])
        expect(table).toContain(field);
      expect(table).toContain('env=prod, reason=x');
      expect(JSON.parse(succeeded(await sh('agentstate session show snap.json --format json')))).toEqual(
        snapshot,
      );

      const dryRun = succeeded(await sh(`agentstate session import snap.json --dry-run $TARGET`));
      expect(dryRun).toMatch(/dry_run\s*│\s*true/);
      const report = JSON.parse(succeeded(await sh(`agentstate session import snap.json --json $TARGET`)));
      expect(report).toMatchObject({
        dry_run: false,
        session_id: session,
        messages_restored: 1,
        events_restored: 1,
      });
    });

    it('snapshot create, session snapshots with pages, snapshot load', async () => {
      const first = JSON.parse(
        succeeded(await sh(`agentstate snapshot create bot ${session} --tag reason=nightly --json $TARGET`)),
      );
      const second = JSON.parse(
        succeeded(await sh(`agentstate snapshot create bot ${session} --json $TARGET`)),
      );
      const page = JSON.parse(
        succeeded(await sh(`agentstate session snapshots bot ${session} --limit 1 --json $TARGET`)),
      );
      expect(page).toEqual({ snapshot_ids: [first.snapshot_id], count: 1, next_token: first.snapshot_id });
      const rest = JSON.parse(
        succeeded(
          await sh(
            `agentstate session snapshots bot ${session} --start-after ${page.next_token} --json $TARGET`,
          ),
        ),
      );
      expect(rest).toEqual({ snapshot_ids: [second.snapshot_id], count: 1 });
      expect(succeeded(await sh(`agentstate session snapshots bot ${session} $TARGET`))).toContain(
        second.snapshot_id,
      );

      succeeded(await sh(`agentstate snapshot load bot ${session} --output latest.json $TARGET`));
      const latest = JSON.parse(await readFile(join(shell.dir, 'latest.json'), 'utf8'));
      expect(latest.tags).toEqual({});
      const tagged = JSON.parse(
        succeeded(await sh(`agentstate snapshot load bot ${session} ${first.snapshot_id} $TARGET`)),
      );
      expect(tagged.tags).toEqual({ reason: 'nightly' });
    });

    it('subject export and import, again idempotent, and into another subject', async () => {
      succeeded(await sh(`agentstate subject export bot --output bot.json $TARGET`));
      const document = JSON.parse(await readFile(join(shell.dir, 'bot.json'), 'utf8'));
      expect(document.persistent).toEqual([
        {
          key: 'plan',
          versions: [expect.objectContaining({ version: 1 }), expect.objectContaining({ version: 2 })],
        },
      ]);
      const same = JSON.parse(succeeded(await sh(`agentstate subject import bot.json --json $TARGET`)));
      expect(same).toMatchObject({ keys_written: 0, keys_unchanged: 1 });
      expect(document.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([session]);
      expect(same).toMatchObject({ sessions_unchanged: 1 });
      // Its session's id is taken in this store (by the subject `bot`): a copy needs new ids.
      failed(await sh(`agentstate subject import bot.json --target-subject bot-2 $TARGET`), 5, 'IdConflict');
      const moved = succeeded(
        await sh(`agentstate subject import bot.json --target-subject bot-2 --no-preserve-ids $TARGET`),
      );
      expect(moved).toMatch(/keys_written\s*│\s*1/);
      expect(moved).toMatch(/sessions_written\s*│\s*1/);
      const copy = JSON.parse(
        succeeded(await sh(`agentstate subject export bot-2 --tenant ${tenant} $TARGET`)),
      );
      expect(copy.persistent).toEqual(document.persistent);
    });

    describe('bad input: a clear error, its exit code, nothing written', () => {
      it('an unknown --format or flag is a usage error (2)', async () => {
        succeeded(await sh(`agentstate session export bot --session ${session} --output ok.json $TARGET`));
        const format = await sh('agentstate session show ok.json --format yaml');
        expect(format.exitCode).toBe(2);
        expect(format.stderr).toContain("option '--format <format>' argument 'yaml' is invalid");
        const flag = await sh(`agentstate session export bot --session ${session} --bogus $TARGET`);
        expect(flag.exitCode).toBe(2);
        expect(flag.stderr).toContain("unknown option '--bogus'");
      });

      it('a truncated file is InvalidInput (2), one byte changed is ChecksumMismatch (6), a newer version IncompatibleVersion (6)', async () => {
        const text = await readFile(join(shell.dir, 'snap.json'), 'utf8');
        await writeFile(join(shell.dir, 'truncated.json'), text.slice(0, text.length / 2));
        failed(await sh(`agentstate session import truncated.json $TARGET`), 2, 'InvalidInput');
        await writeFile(join(shell.dir, 'tampered.json'), text.replace('"hello"', '"hellp"'));
        failed(await sh(`agentstate session import tampered.json $TARGET`), 6, 'ChecksumMismatch');
        failed(await sh('agentstate session show tampered.json'), 6, 'ChecksumMismatch');
        const newer = withChecksum({ ...JSON.parse(text), schema_version: 2 });
        await writeFile(join(shell.dir, 'newer.json'), JSON.stringify(newer));
        failed(await sh(`agentstate session import newer.json $TARGET`), 6, 'IncompatibleVersion');
        const messages = await target.worker.api.request(
          'GET',
          `/v1/sessions/${session}/messages`,
          undefined,
          {
            token: await target.worker.token(tenant, 'ops', ['operator']),
          },
        );
        expect(messages.body.messages.map((m: { content: string }) => m.content)).toEqual(['hello']);
      });

      it('an output path that cannot be written fails (1) and leaves no partial file', async () => {
        await mkdir(join(shell.dir, 'a-folder'));
        const before = await readdir(shell.dir);
        for (const output of ['a-folder', 'missing/dir/out.json']) {
          const run = await sh(`agentstate subject export bot --output ${output} $TARGET`);
          failed(run, 1, 'IoError');
          expect(run.stderr).toContain(`cannot write ${output}`);
        }
        expect(await readdir(shell.dir)).toEqual(before);
        expect(await readdir(join(shell.dir, 'a-folder'))).toEqual([]);
      });

      it('preserve_ids conflicts are IdConflict (5), listed', async () => {
        await target.worker.api.request(
          'PUT',
          '/v1/agents/bot/state/plan',
          { step: 3 },
          {
            token: await target.worker.token(tenant, 'ops', ['operator']),
          },
        );
        const run = await sh(`agentstate subject import bot.json $TARGET`);
        failed(run, 5, 'IdConflict');
        expect(run.stderr).toContain('persistent key \\"plan\\"');
      });

      it('an agent token on the admin API is Forbidden (3); no token is Unauthenticated (3)', async () => {
        const agentToken = await target.worker.token(tenant, 'bot', ['agent']);
        failed(
          await sh(`agentstate subject export bot $TARGET`, { AGENTSTATE_TOKEN: agentToken }),
          3,
          'Forbidden',
        );
        failed(
          await sh(`agentstate subject import bot.json --target-subject bot-9 $TARGET`, {
            AGENTSTATE_TOKEN: agentToken,
          }),
          3,
          'Forbidden',
        );
        failed(
          await sh(`agentstate subject export bot $TARGET`, { AGENTSTATE_TOKEN: '' }),
          3,
          'Unauthenticated',
        );
      });

      it('an unknown session is SessionNotFound (4)', async () => {
        failed(
          await sh(`agentstate session export bot --session 00000000-0000-4000-8000-000000000000 $TARGET`),
          4,
          'SessionNotFound',
        );
      });
    });
  });
}
