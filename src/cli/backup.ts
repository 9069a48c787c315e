import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import {
  backupCreateResultSchema,
  backupExportResultSchema,
  backupJobSchema,
  backupListResultSchema,
  backupRestoreResultSchema,
  backupVerifyResultSchema,
  type BackupJob,
} from '../backups/backup-schemas.ts';
import { AppError, ErrorCode } from '../core/errors.ts';
import type { CliIo } from './cli-io.ts';
import { resolveConnection, withConnection, type ConnectionFlags } from './connection.ts';
import { asSidecarJob } from './job-sidecar.ts';
import { fieldTable, jsonLine, listTable } from './output.ts';
import { createProgress } from './progress.ts';
import { createServiceClient, type RequestOptions, type ServiceClient } from './service-client.ts';

type Flags = ConnectionFlags & { json?: boolean };

/** How often `--wait` asks for a running backup's status. */
const POLL_MS = 1000;

const path = (id: string, action = '') => `/v1/backups/${encodeURIComponent(id)}${action}`;

/** `agentstate backup create|list|restore|export|verify`: spec/000 `state.backup.*` for operators and Jobs. */
export function registerBackup(program: Command, io: CliIo): void {
  const backup = program
    .command('backup')
    .description('encrypted backups of persistent and shared state (vault key from the secret store)');
  const client = (flags: ConnectionFlags) => createServiceClient(resolveConnection(flags, io.env));
  const print = (flags: Flags, value: unknown, table: () => string) =>
    io.out(flags.json === true ? jsonLine(value) : table());

  withConnection(
    backup
      .command('create')
      .description('start a backup: of every agent and the shared state, or of one agent')
      .option('--agent <agent>', "back up only this agent's persistent state")
      .option('--wait', 'follow the job until it is complete (exit 0) or failed (its error code)')
      .option('--json', 'print the result as JSON'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate backup create --wait\n  $ agentstate backup create --agent research-bot --json',
    )
    .action((flags: Flags & { agent?: string; wait?: boolean }) =>
      asSidecarJob(flags, io, async () => {
        const service = client(flags);
        const started = await answer(backupCreateResultSchema, service, 'POST', '/v1/backups', {
          json: flags.agent === undefined ? {} : { agent: flags.agent },
        });
        const result = flags.wait === true ? await follow(service, io, started.backup_id) : started;
        print(flags, result, () =>
          fieldTable(Object.entries(result).map(([field, value]) => [field, String(value)])),
        );
      }),
    );

  withConnection(
    backup.command('list').description('complete backups, newest first').option('--json', 'print JSON'),
  ).action((flags: Flags) =>
    asSidecarJob(flags, io, async () => {
      const listed = await client(flags).json(backupListResultSchema, 'GET', '/v1/backups');
      print(flags, listed, () =>
        listTable(
          ['backup_id', 'created_at', 'scope', 'file_size_bytes'],
          listed.backups.map((b) => [b.backup_id, b.created_at, b.scope, b.file_size_bytes]),
        ),
      );
    }),
  );

  withConnection(
    backup
      .command('restore')
      .description('restore a backup: checked in full first, and what it overwrites is backed up before')
      .argument('<backup-id>', 'from `backup list`')
      .option('--agent <agent>', "restore only this agent's state")
      .option('--yes', 'confirm: the restore overwrites current state')
      .option('--wait', 'accepted for Jobs: a restore always runs to the end before the command exits')
      .option('--json', 'print the result as JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ agentstate backup restore bkp-20260325T140000000Z-1a2b3c4d --yes')
    .action((id: string, flags: Flags & { agent?: string; yes?: boolean }) =>
      asSidecarJob(flags, io, async () => {
        if (flags.yes !== true)
          throw new AppError(
            'InvalidInput',
            'a restore overwrites current state: run it again with --yes to confirm',
          );
        const result = await answer(backupRestoreResultSchema, client(flags), 'POST', path(id, '/restore'), {
          json: flags.agent === undefined ? {} : { agent: flags.agent },
        });
        print(flags, result, () =>
          fieldTable([
            ['restored', String(result.restored)],
            ['agents_restored', result.agents_restored.join(', ')],
            ['shared_state_restored', String(result.shared_state_restored)],
            ['safety_backup_id', result.safety_backup_id],
          ]),
        );
      }),
    );

  withConnection(
    backup
      .command('export')
      .description("copy a backup, still encrypted, to a path on the worker's file system")
      .argument('<backup-id>', 'from `backup list`')
      .argument('<path>', 'a directory (the file is named after the backup) or a file path')
      .option('--json', 'print the result as JSON'),
  ).action((id: string, target: string, flags: Flags) =>
    asSidecarJob(flags, io, async () => {
      const result = await answer(backupExportResultSchema, client(flags), 'POST', path(id, '/export'), {
        json: { path: target },
      });
      print(flags, result, () =>
        fieldTable([
          ['exported_path', result.exported_path],
          ['size_bytes', result.size_bytes],
        ]),
      );
    }),
  );

  withConnection(
    backup
      .command('verify')
      .description('decrypt and check a backup without restoring it: every chunk, or a sample of its parts')
      .argument('[backup-id]', 'from `backup list`')
      .option('--latest', 'verify the newest complete backup')
      .option('--sample <percent>', 'check only this percentage of the parts (0.01 to 100)', parsePercent)
      .option('--json', 'print the result as JSON'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate backup verify --latest\n  $ agentstate backup verify bkp-20260325T140000000Z-1a2b3c4d --sample 10',
    )
    .action((id: string | undefined, flags: Flags & { latest?: boolean; sample?: number }) =>
      asSidecarJob(flags, io, async () => {
        if ((id === undefined) === (flags.latest !== true))
          throw new AppError('InvalidInput', 'name one backup: a backup id or --latest');
        const result = await client(flags).json(
          backupVerifyResultSchema,
          'POST',
          path(id ?? 'latest', '/verify'),
          {
            json: flags.sample === undefined ? {} : { sample_percent: flags.sample },
          },
        );
        print(flags, result, () =>
          fieldTable(Object.entries(result).map(([field, value]) => [field, String(value)])),
        );
      }),
    );
}

/**
 * The answer of a capability that may wait for an approval: an agent's call answers
 * `202` with the pending approval's error body, which is the `ApprovalRequired` exit.
 */
async function answer<T>(
  schema: z.ZodType<T>,
  service: ServiceClient,
  method: string,
  url: string,
  options: RequestOptions,
): Promise<T> {
  const body: unknown = await (await service.request(method, url, options)).json();
  const pending = z
    .object({ error: z.object({ code: z.literal(ErrorCode.ApprovalRequired), message: z.string() }) })
    .safeParse(body);
  if (pending.success)
    throw new AppError('ApprovalRequired', pending.data.error.message, {
      details: body as Record<string, unknown>,
    });
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new AppError(
      'Internal',
      `${service.connection.describe} answered ${method} ${url} with a body this CLI does not understand`,
      {
        cause: parsed.error,
      },
    );
  return parsed.data;
}

/** Polls the job until it ends; a failed job is its error, so the exit code says what went wrong. */
async function follow(service: ServiceClient, io: CliIo, backupId: string): Promise<BackupJob> {
  const progress = createProgress(io, `backup ${backupId}`, undefined);
  let seen = 0;
  for (;;) {
    const job = await service.json(backupJobSchema, 'GET', path(backupId));
    progress.advance(job.file_size_bytes - seen);
    seen = job.file_size_bytes;
    if (job.status === 'complete') {
      progress.done();
      return job;
    }
    if (job.status === 'failed') {
      const code = job.error?.code;
      throw new AppError(
        code !== undefined && code in ErrorCode ? (code as ErrorCode) : 'Internal',
        `backup ${backupId} failed: ${job.error?.message ?? 'no reason recorded'}`,
      );
    }
    await sleep(POLL_MS);
  }
}

function parsePercent(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0.01 || value > 100)
    throw new AppError(
      'InvalidInput',
      `--sample must be a percentage from 0.01 to 100, not ${JSON.stringify(text)}`,
    );
  return value;
}
