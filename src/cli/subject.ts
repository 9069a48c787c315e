import type { Command } from 'commander';
import { subjectDocumentFormat } from '../portability/subject-document.ts';
import { subjectImportReportSchema } from '../portability/subject-import.ts';
import type { CliIo } from './cli-io.ts';
import { resolveConnection, withConnection, type ConnectionFlags } from './connection.ts';
import { readDocumentFile } from './input-file.ts';
import { fieldTable, jsonLine } from './output.ts';
import { createServiceClient } from './service-client.ts';
import { download, uploadFile } from './session.ts';

type Flags = ConnectionFlags & { json?: boolean };

/** `agentstate subject export|import`: the admin API of spec/003, for operators. */
export function registerSubject(program: Command, io: CliIo): void {
  const subject = program
    .command('subject')
    .description("a subject's (agent's) durable state as one verified document, for operators");

  withConnection(
    subject
      .command('export')
      .description('export a subject: persistent state with history, sessions with messages and events')
      .argument('<subject>', 'the subject (agent) id')
      .option('--tenant <tenant>', "the subject's tenant (default: the operator's)")
      .option('--output <file>', 'write to this file (whole or not at all) instead of stdout'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate subject export research-bot --output research-bot.json',
    )
    .action(async (id: string, flags: Flags & { tenant?: string; output?: string }) => {
      const service = createServiceClient(resolveConnection(flags, io.env));
      const response = await service.request('GET', `/admin/export/${encodeURIComponent(id)}`, {
        query: { tenant_id: flags.tenant },
      });
      await download(io, response, flags.output, 'export');
    });

  withConnection(
    subject
      .command('import')
      .description('import a subject export; verified, and refused on id conflicts unless --no-preserve-ids')
      .argument('<file>', 'the export document')
      .option('--target-subject <id>', "import as this subject (default: the document's)")
      .option('--target-tenant <id>', "import into this tenant (default: the document's)")
      .option(
        '--no-preserve-ids',
        'give sessions new ids (rewriting every reference) instead of keeping them',
      )
      .option('--json', 'print the report as JSON'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate subject import research-bot.json\n  $ agentstate subject import research-bot.json --target-subject bot-2 --target-tenant staging',
    )
    .action(
      async (
        file: string,
        flags: Flags & { targetSubject?: string; targetTenant?: string; preserveIds: boolean },
      ) => {
        await readDocumentFile(subjectDocumentFormat, file);
        const options = {
          ...(flags.targetSubject === undefined ? {} : { target_subject_id: flags.targetSubject }),
          ...(flags.targetTenant === undefined ? {} : { target_tenant_id: flags.targetTenant }),
          preserve_ids: flags.preserveIds,
        };
        // The file goes as it is, streamed: `{"document": <file>, ...options}`.
        const service = createServiceClient(resolveConnection(flags, io.env));
        const report = await uploadFile(subjectImportReportSchema, service, io, {
          path: '/admin/import',
          file,
          before: '{"document":',
          after: `,${JSON.stringify(options).slice(1)}`,
        });
        io.out(
          flags.json === true
            ? jsonLine(report)
            : fieldTable([
                ['subject_id', report.subject_id],
                ['tenant_id', report.tenant_id],
                ['preserve_ids', String(report.preserve_ids)],
                ['keys_written', report.keys_written],
                ['keys_unchanged', report.keys_unchanged],
                ['keys_renumbered', report.keys_renumbered],
                ['versions_written', report.versions_written],
                ['sessions_written', report.sessions_written],
                ['sessions_unchanged', report.sessions_unchanged],
                ...Object.entries(report.session_ids).map(
                  ([from, to]) => [`session ${from}`, `now ${to}`] as const,
                ),
              ]),
        );
      },
    );
}
