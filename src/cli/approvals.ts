import type { Command } from 'commander';
import { auditAnswerSchema } from '../capabilities/audit-query.ts';
import { approvalListSchema, approvalSchema, type Approval } from '../core/approvals/approval-schemas.ts';
import type { CliIo } from './cli-io.ts';
import { resolveConnection, withConnection, type ConnectionFlags } from './connection.ts';
import { fieldTable, jsonLine, listTable } from './output.ts';
import { createServiceClient } from './service-client.ts';

type Flags = ConnectionFlags & { json?: boolean };

const client = (flags: ConnectionFlags, io: CliIo) => createServiceClient(resolveConnection(flags, io.env));
const approvalPath = (id: string, action = '') => `/v1/approvals/${encodeURIComponent(id)}${action}`;

/** `agentstate approvals list|show|approve|deny`: the approval queue, for supervisors and operators. */
export function registerApprovals(program: Command, io: CliIo): void {
  const approvals = program
    .command('approvals')
    .description(
      'requests of Approval Required capabilities (backups, restores, exports) and their decisions',
    );

  withConnection(
    approvals
      .command('list')
      .description("the tenant's requests, oldest first (an agent sees its own)")
      .option(
        '--status <status>',
        'only requests in this status: pending, approved, denied, completed, failed',
      )
      .option('--json', 'print the page as JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ agentstate approvals list --status pending')
    .action(async (flags: Flags & { status?: string }) => {
      const page = await client(flags, io).json(approvalListSchema, 'GET', '/v1/approvals', {
        query: { status: flags.status },
      });
      io.out(
        flags.json === true
          ? jsonLine(page)
          : listTable(
              ['approval_id', 'capability', 'requester', 'status', 'requested_at'],
              page.approvals.map((a) => [
                a.approval_id,
                a.capability,
                a.requester.caller.principal,
                a.status,
                a.requested_at,
              ]),
            ),
      );
    });

  withConnection(
    approvals
      .command('show')
      .description('one request, with its outcome once it ran')
      .argument('<approval-id>')
      .option('--json', 'print it as JSON'),
  ).action(async (id: string, flags: Flags) => {
    printApproval(io, flags, await client(flags, io).json(approvalSchema, 'GET', approvalPath(id)));
  });

  withConnection(
    approvals
      .command('approve')
      .description('approve a pending request: the capability runs once, as the requester asked it')
      .argument('<approval-id>')
      .option('--json', 'print the approval with its outcome as JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ agentstate approvals approve apr-20260325T140000-1a2b3c4d')
    .action(async (id: string, flags: Flags) => {
      const approval = await client(flags, io).json(approvalSchema, 'POST', approvalPath(id, '/approve'));
      printApproval(io, flags, approval);
    });

  withConnection(
    approvals
      .command('deny')
      .description('deny a pending request')
      .argument('<approval-id>')
      .option('--reason <text>', 'why, for the requester and the audit trail')
      .option('--json', 'print the approval as JSON'),
  ).action(async (id: string, flags: Flags & { reason?: string }) => {
    const approval = await client(flags, io).json(approvalSchema, 'POST', approvalPath(id, '/deny'), {
      json: flags.reason === undefined ? {} : { reason: flags.reason },
    });
    printApproval(io, flags, approval);
  });
}

/** `agentstate audit [--from T] [--to T] [--action A]`: the audit trail, for operators. */
export function registerAudit(program: Command, io: CliIo): void {
  withConnection(
    program
      .command('audit')
      .description("the tenant's audit trail in [from, to): Notify actions, approvals, refusals (operators)")
      .option('--from <timestamp>', 'ISO 8601 start, included (default: 24 hours before --to)')
      .option('--to <timestamp>', 'ISO 8601 end, excluded (default: now)')
      .option('--action <name>', 'only this action, e.g. state.shared.set or approval.approved')
      .option('--json', 'print { from, to, records, count } as JSON'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate audit --from 2026-03-25T00:00:00Z --action approval.approved',
    )
    .action(async (flags: Flags & { from?: string; to?: string; action?: string }) => {
      const answer = await client(flags, io).json(auditAnswerSchema, 'GET', '/v1/audit', {
        query: { from: flags.from, to: flags.to, action: flags.action },
      });
      io.out(
        flags.json === true
          ? jsonLine(answer)
          : listTable(
              ['at', 'agent', 'action', 'outcome', 'subject'],
              answer.records.map((r) => [
                r.at,
                r.agent,
                r.action,
                r.outcome ?? '',
                r.key ?? r.approval_id ?? '',
              ]),
            ),
      );
    });
}

function printApproval(io: CliIo, flags: Flags, approval: Approval): void {
  if (flags.json === true) return io.out(jsonLine(approval));
  io.out(
    fieldTable([
      ['approval_id', approval.approval_id],
      ['capability', approval.capability],
      ['requester', approval.requester.caller.principal],
      ['status', approval.status],
      ['requested_at', approval.requested_at],
      ...(approval.decided_by === undefined ? [] : [['decided_by', approval.decided_by] as const]),
      ...(approval.reason === undefined ? [] : [['reason', approval.reason] as const]),
      ...(approval.output === undefined ? [] : [['output', JSON.stringify(approval.output)] as const]),
      ...(approval.error === undefined
        ? []
        : [['error', `${approval.error.code}: ${approval.error.message}`] as const]),
    ]),
  );
}
