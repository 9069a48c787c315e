import type { Command } from 'commander';
import { z } from 'zod';
import {
  checkpointPageSchema,
  deleteThreadResultSchema,
  threadPageSchema,
} from '../core/checkpoints/checkpoint-schemas.ts';
import { AppError } from '../core/errors.ts';
import type { CliIo } from './cli-io.ts';
import { resolveConnection, withConnection, type ConnectionFlags } from './connection.ts';
import { jsonLine, listTable } from './output.ts';
import { createServiceClient } from './service-client.ts';

type Flags = ConnectionFlags & { json?: boolean };

const limitSchema = z.coerce.number().int();

/** The service acting for `agent` (`x-agent-id`), as the caller's token allows. */
function clientFor(flags: ConnectionFlags, io: CliIo, agent: string) {
  const connection = resolveConnection(flags, io.env);
  return createServiceClient({ ...connection, headers: { ...connection.headers, 'x-agent-id': agent } });
}

const threadPath = (thread: string) => `/v1/threads/${encodeURIComponent(thread)}`;

function limitOf(value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = limitSchema.safeParse(value);
  if (!parsed.success || parsed.data < 1 || parsed.data > max)
    throw new AppError('InvalidInput', `--limit must be a whole number from 1 to ${max}, not ${value}`);
  return parsed.data;
}

/** `agentstate threads list|show|delete`: an agent's LangGraph checkpoint threads. */
export function registerThreads(program: Command, io: CliIo): void {
  const threads = program
    .command('threads')
    .description("an agent's LangGraph checkpoint threads (AgentStateSaver)");

  withConnection(
    threads
      .command('list')
      .description("list an agent's live threads, newest first")
      .argument('<agent>', 'the agent')
      .option('--limit <n>', 'at most this many (1-1000, default 100)')
      .option('--cursor <cursor>', 'the cursor of the previous page')
      .option('--json', 'print { threads, cursor? }'),
  )
    .addHelpText('after', '\nExamples:\n  $ agentstate threads list research-bot --limit 20')
    .action(async (agent: string, flags: Flags & { limit?: string; cursor?: string }) => {
      const page = await clientFor(flags, io, agent).json(threadPageSchema, 'GET', '/v1/threads', {
        query: { limit: limitOf(flags.limit, 1000), cursor: flags.cursor },
      });
      if (flags.json === true) return io.out(jsonLine(page));
      io.out(
        listTable(
          ['thread_id', 'created_at', 'updated_at', 'expires_at'],
          page.threads.map((t) => [t.thread_id, t.created_at, t.updated_at, t.expires_at ?? '']),
        ),
      );
      if (page.cursor !== undefined) io.out(`more: --cursor ${page.cursor}\n`);
    });

  withConnection(
    threads
      .command('show')
      .description("list a thread's checkpoints, newest first, with their pending writes")
      .argument('<agent>', 'the agent')
      .argument('<thread>', 'the thread id')
      .option('--namespace <ns>', 'only this checkpoint namespace (default: every one)')
      .option('--limit <n>', 'at most this many (1-100, default 20)')
      .option('--cursor <cursor>', 'the cursor of the previous page')
      .option('--json', 'print { checkpoints, cursor? } as the REST API answers it'),
  )
    .addHelpText('after', '\nExamples:\n  $ agentstate threads show research-bot thread-42 --limit 5 --json')
    .action(
      async (
        agent: string,
        thread: string,
        flags: Flags & { namespace?: string; limit?: string; cursor?: string },
      ) => {
        const page = await clientFor(flags, io, agent).json(
          checkpointPageSchema,
          'GET',
          `${threadPath(thread)}/checkpoints`,
          {
            query: { checkpoint_ns: flags.namespace, limit: limitOf(flags.limit, 100), cursor: flags.cursor },
          },
        );
        if (page.checkpoints.length === 0 && flags.cursor === undefined)
          throw new AppError('KeyNotFound', `thread ${JSON.stringify(thread)} has no checkpoints`);
        if (flags.json === true) return io.out(jsonLine(page));
        io.out(
          listTable(
            ['checkpoint_ns', 'checkpoint_id', 'parent', 'step', 'channels', 'pending writes'],
            page.checkpoints.map((c) => [
              c.config.checkpoint_ns,
              c.config.checkpoint_id,
              c.parent_checkpoint_id ?? '',
              JSON.stringify(c.metadata['step'] ?? ''),
              Object.keys(c.channel_values).length,
              c.pending_writes.length,
            ]),
          ),
        );
        if (page.cursor !== undefined) io.out(`more: --cursor ${page.cursor}\n`);
      },
    );

  withConnection(
    threads
      .command('delete')
      .description('delete a thread: its checkpoints and writes, for good (a late put of it is refused)')
      .argument('<agent>', 'the agent')
      .argument('<thread>', 'the thread id')
      .option('--json', 'print { deleted }'),
  )
    .addHelpText('after', '\nExamples:\n  $ agentstate threads delete research-bot thread-42')
    .action(async (agent: string, thread: string, flags: Flags) => {
      const result = await clientFor(flags, io, agent).json(
        deleteThreadResultSchema,
        'DELETE',
        threadPath(thread),
      );
      if (!result.deleted)
        throw new AppError('KeyNotFound', `thread ${JSON.stringify(thread)} does not exist`);
      io.out(flags.json === true ? jsonLine(result) : `deleted thread ${thread}\n`);
    });
}
