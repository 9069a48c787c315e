import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { sessionRestoreReportSchema, type SessionRestoreReport } from '../portability/session-import.ts';
import { checkpointAnswerSchema, snapshotListAnswerSchema } from '../portability/snapshot-answers.ts';
import { sessionSnapshotFormat, type SessionSnapshot } from '../portability/session-snapshot.ts';
import { AppError } from '../core/errors.ts';
import type { CliIo } from './cli-io.ts';
import { resolveConnection, withConnection, type ConnectionFlags } from './connection.ts';
import { fileStream, readDocumentFile } from './input-file.ts';
import { fieldTable, jsonLine, listTable, writeFileWhole, writeToOut } from './output.ts';
import { counted, createProgress } from './progress.ts';
import { createServiceClient, type ServiceClient } from './service-client.ts';
import { createSystemSnapshot, listSystemSnapshots, loadSystemSnapshot } from './system-snapshot.ts';

type Flags = ConnectionFlags & { json?: boolean };

const collect = (value: string, previous: string[] = []) => [...previous, value];
const client = (flags: ConnectionFlags, io: CliIo) => createServiceClient(resolveConnection(flags, io.env));
const sessionPath = (agent: string, session: string) =>
  `/v1/agents/${encodeURIComponent(agent)}/sessions/${encodeURIComponent(session)}`;

/** `agentstate session export|show|import|snapshots` (spec/002, spec/004). */
export function registerSession(program: Command, io: CliIo): void {
  const session = program
    .command('session')
    .description('session snapshots: portable JSON of one session, verified on import');

  withConnection(
    session
      .command('export')
      .description('export a session as a snapshot (stdout without --output)')
      .argument('<agent>', 'the agent whose session to export')
      .option('--session <id>', "the session id (default: the agent's latest session)")
      .option('--tag <key=value>', 'tag the snapshot; repeat for several', collect)
      .option('--output <file>', 'write to this file (whole or not at all) instead of stdout'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ agentstate session export research-bot --output latest.json     # its newest live session
  $ agentstate session export research-bot --session 0f8a... --output snapshot.json
  $ agentstate session export research-bot --session 0f8a... --tag env=prod --tag reason=incident-42 > s.json`,
    )
    .action(async (agent: string, flags: Flags & { session?: string; tag?: string[]; output?: string }) => {
      const response = await client(flags, io).request(
        'GET',
        `${sessionPath(agent, flags.session ?? 'latest')}/snapshot`,
        { query: { tag: flags.tag } },
      );
      await download(io, response, flags.output, 'export');
    });

  session
    .command('show')
    .description('show a snapshot file, verified (version and checksum)')
    .argument('<file>', 'the snapshot file')
    .addOption(new Option('--format <format>', 'table or json').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate session show snapshot.json\n  $ agentstate session show snapshot.json --format json',
    )
    .action(async (file: string, flags: { format: 'table' | 'json' }) => {
      const snapshot = await readDocumentFile(sessionSnapshotFormat, file);
      io.out(flags.format === 'json' ? `${JSON.stringify(snapshot, null, 2)}\n` : snapshotTable(snapshot));
    });

  withConnection(
    session
      .command('import')
      .description('restore a snapshot: replaces that session only; the file is verified before it is sent')
      .argument('<file>', 'the snapshot file')
      .option('--dry-run', 'report what would change and write nothing')
      .option('--json', 'print the report as JSON'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate session import snapshot.json --dry-run\n  $ agentstate session import snapshot.json --json',
    )
    .action(async (file: string, flags: Flags & { dryRun?: boolean }) => {
      // Verified here first, so that a damaged file fails before anything is sent.
      await readDocumentFile(sessionSnapshotFormat, file);
      const report = await uploadFile(sessionRestoreReportSchema, client(flags, io), io, {
        path: '/v1/snapshots/restore',
        file,
        query: { dry_run: flags.dryRun === true ? 'true' : 'false' },
      });
      io.out(flags.json === true ? jsonLine(report) : restoreTable(report));
    });

  withConnection(
    session
      .command('snapshots')
      .description('list the stored snapshots of a session (oldest first)')
      .argument('<agent>', 'the agent')
      .argument('<session>', 'the session id')
      .option('--limit <n>', 'at most this many (1-1000, default 100)')
      .option('--start-after <id>', 'the next_token of the previous page')
      .option('--json', 'print { snapshot_ids, count, next_token? }'),
  )
    .addHelpText('after', '\nExamples:\n  $ agentstate session snapshots research-bot 0f8a... --limit 100')
    .action(async (agent: string, id: string, flags: Flags & { limit?: string; startAfter?: string }) => {
      const page = await client(flags, io).json(
        snapshotListAnswerSchema,
        'GET',
        `${sessionPath(agent, id)}/snapshots`,
        { query: { limit: flags.limit, start_after: flags.startAfter } },
      );
      if (flags.json === true) return io.out(jsonLine(page));
      io.out(
        listTable(
          ['snapshot_id'],
          page.snapshot_ids.map((snapshotId) => [snapshotId]),
        ),
      );
      if (page.next_token !== undefined) io.out(`more: --start-after ${page.next_token}\n`);
    });
}

/**
 * `agentstate snapshot create|list|load`: snapshot storage (spec/004) of a session
 * (with an agent and a session), or system snapshots (`system-snapshot.ts`) without.
 */
export function registerSnapshot(program: Command, io: CliIo): void {
  const snapshot = program
    .command('snapshot')
    .description(
      'session snapshots kept in the blob store, and system snapshots (without agent and session)',
    );
  withConnection(
    snapshot
      .command('create')
      .description("store the session's snapshot as its latest; without arguments, take a system snapshot")
      .argument('[agent]')
      .argument('[session]')
      .option('--tag <key=value>', 'tag the snapshot; repeat for several', collect)
      .option('--json', 'print { snapshot_id, messages, events }'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate snapshot create research-bot 0f8a... --tag reason=nightly\n  $ agentstate snapshot create          # a system snapshot',
    )
    .action(async (agent: string | undefined, id: string | undefined, flags: Flags & { tag?: string[] }) => {
      if (agent === undefined) return createSystemSnapshot(io, flags);
      if (id === undefined)
        throw new AppError('InvalidInput', 'name the session too: snapshot create AGENT SESSION');
      const created = await client(flags, io).json(
        checkpointAnswerSchema,
        'POST',
        `${sessionPath(agent, id)}/snapshots`,
        { query: { tag: flags.tag } },
      );
      io.out(
        flags.json === true
          ? jsonLine(created)
          : fieldTable([
              ['snapshot_id', created.snapshot_id],
              ['messages', created.messages],
              ['events', created.events],
            ]),
      );
    });
  withConnection(
    snapshot
      .command('list')
      .description('list the system snapshots, newest first (session snapshots: `session snapshots`)')
      .option('--json', 'print { snapshots, count }'),
  ).action((flags: Flags) => listSystemSnapshots(io, flags));
  withConnection(
    snapshot
      .command('load')
      .description('fetch a stored snapshot (the latest without an id); with only an id, a system snapshot')
      .argument('<agent-or-system-snapshot-id>')
      .argument('[session]')
      .argument('[snapshot-id]', 'a snapshot id from `session snapshots`', 'latest')
      .option('--output <file>', 'write to this file instead of stdout')
      .option('--json', 'a system snapshot as one JSON line'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate snapshot load research-bot 0f8a... --output latest.json\n  $ agentstate snapshot load snap-20260325T140000',
    )
    .action(
      async (
        agent: string,
        id: string | undefined,
        snapshotId: string,
        flags: Flags & { output?: string },
      ) => {
        if (id === undefined) return loadSystemSnapshot(io, flags, agent);
        const response = await client(flags, io).request(
          'GET',
          `${sessionPath(agent, id)}/snapshots/${encodeURIComponent(snapshotId)}`,
        );
        await download(io, response, flags.output, 'load');
      },
    );
}

/** Streams a response body to `output` (whole or not at all) or stdout, with progress. */
export async function download(io: CliIo, response: Response, output: string | undefined, label: string) {
  if (response.body === null) return;
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (output === undefined) return writeToOut(io, response.body);
  const progress = createProgress(io, label, Number.isFinite(length) ? length : undefined);
  await writeFileWhole(output, counted(response.body, progress));
  progress.done();
}

/**
 * Sends a document file as it is read, between `before` and `after` (text wrapping it
 * in a request body), with progress; answers the service's JSON. The file is never
 * held in memory: verify it first with `readDocumentFile`.
 */
export async function uploadFile<T>(
  schema: z.ZodType<T>,
  service: ServiceClient,
  io: CliIo,
  request: { path: string; file: string; query?: Record<string, string>; before?: string; after?: string },
): Promise<T> {
  const source = await fileStream(request.file);
  try {
    const before = Buffer.from(request.before ?? '', 'utf8');
    const after = Buffer.from(request.after ?? '', 'utf8');
    const length = before.byteLength + source.size + after.byteLength;
    const progress = createProgress(io, 'upload', length);
    const body = counted(ReadableStream.from(wrapped(before, source.bytes, after)), progress);
    const answer = await service.json(schema, 'POST', request.path, {
      query: request.query ?? {},
      stream: { body, length },
    });
    progress.done();
    return answer;
  } finally {
    await source.close();
  }
}

async function* wrapped(
  before: Uint8Array,
  bytes: AsyncIterable<Uint8Array>,
  after: Uint8Array,
): AsyncGenerator<Uint8Array> {
  if (before.byteLength > 0) yield before;
  yield* bytes;
  if (after.byteLength > 0) yield after;
}

/** The fields of spec/002's `show` table. */
function snapshotTable(snapshot: SessionSnapshot): string {
  return fieldTable([
    ['schema_version', snapshot.schema_version],
    ['agent_id', snapshot.agent_id],
    ['session_id', snapshot.session_id],
    ['status', snapshot.status],
    ['messages', snapshot.messages.length],
    ['event_log_count', snapshot.event_log_count],
    ['source_environment', snapshot.source_environment],
    ['exported_at', snapshot.exported_at],
    [
      'tags',
      Object.entries(snapshot.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ],
  ]);
}

function restoreTable(report: SessionRestoreReport): string {
  const change = (c: SessionRestoreReport['messages']) =>
    `${c.added} added, ${c.replaced} replaced, ${c.unchanged} unchanged, ${c.removed} removed`;
  return fieldTable([
    ['dry_run', String(report.dry_run)],
    ['tenant_id', report.tenant_id],
    ['agent_id', report.agent_id],
    ['session_id', report.session_id],
    ['messages', change(report.messages)],
    ['events', change(report.events)],
    ['status', `${report.status.from} -> ${report.status.to}`],
    ['session_keys_removed', report.session_keys_removed],
    ['messages_restored', report.messages_restored],
    ['events_restored', report.events_restored],
  ]);
}
