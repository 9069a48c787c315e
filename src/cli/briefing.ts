import type { Command } from 'commander';
import { briefingResultSchema } from '../core/briefing/briefing.ts';
import type { CliIo } from './cli-io.ts';
import { resolveConnection, withConnection, type ConnectionFlags } from './connection.ts';
import { fieldTable, jsonLine } from './output.ts';
import { createServiceClient } from './service-client.ts';

type Flags = ConnectionFlags & { json?: boolean; since?: string; detailed?: boolean; agent?: string };

/** `agentstate briefing [--since T] [--detailed]`: what changed for an agent. */
export function registerBriefing(program: Command, io: CliIo): void {
  withConnection(
    program
      .command('briefing')
      .description("what changed since the agent's last activity (or --since): the rule-based briefing")
      .option('--agent <id>', "another agent's briefing (supervisors and operators; default: the token's)")
      .option('--since <timestamp>', 'ISO 8601: gather changes after this instead')
      .option('--detailed', 'list the changes, not only count them')
      .option('--json', 'print { briefing } as JSON'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate briefing --agent research-bot --since 2026-03-25T14:00:00Z --detailed',
    )
    .action(async (flags: Flags) => {
      const connection = resolveConnection(flags, io.env);
      const service = createServiceClient(
        flags.agent === undefined
          ? connection
          : { ...connection, headers: { ...connection.headers, 'x-agent-id': flags.agent } },
      );
      const { briefing } = await service.json(briefingResultSchema, 'GET', '/v1/briefing', {
        query: { since: flags.since, detail_level: flags.detailed === true ? 'detailed' : 'summary' },
      });
      if (flags.json === true) return io.out(jsonLine({ briefing }));
      io.out(`${briefing.summary}\n`);
      io.out(
        fieldTable([
          ['since', briefing.since],
          ['shared_changes', briefing.shared_changes.count],
          ['persistent_changes', briefing.persistent_changes.count],
          ['pending_approvals', briefing.pending_approvals.count],
          ['unread_messages', briefing.unread_messages.count],
          ['filesystem_changes', briefing.filesystem_changes.count],
          ['process_events', briefing.process_events.count],
          ['alerts', briefing.alerts.count],
          ['health', briefing.health.ok ? 'ok' : 'unhealthy'],
        ]),
      );
    });
}
