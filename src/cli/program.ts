import { Command } from 'commander';
import { registerBackup } from './backup.ts';
import { processIo, type CliIo } from './cli-io.ts';
import { registerApprovals, registerAudit } from './approvals.ts';
import { registerBriefing } from './briefing.ts';
import { registerConfig } from './config.ts';
import { asUsageError } from './exit-codes.ts';
import { registerServe } from './serve.ts';
import { registerSession, registerSnapshot } from './session.ts';
import { registerSubject } from './subject.ts';
import { registerThreads } from './threads.ts';
import { registerToken } from './token.ts';

/** The `agentstate` command line: one file per command group, each thin. */
export function createProgram(io: CliIo = processIo()): Command {
  const program = new Command('agentstate')
    .description('state and memory for fleets of AI agents on Kubernetes and Dapr')
    .showHelpAfterError()
    .exitOverride(asUsageError)
    .addHelpText(
      'after',
      `
Examples:
  $ npm start                                           # the service on the embedded store
  $ export AGENTSTATE_TOKEN=$(agentstate token issue --tenant dev --agent ops --role operator)
  $ agentstate session export research-bot --session <id> --output snapshot.json
  $ agentstate session show snapshot.json
  $ agentstate session import snapshot.json --dry-run
  $ agentstate subject export research-bot --output research-bot.json
  $ agentstate backup create --wait
  $ agentstate backup restore <backup-id> --yes
  $ agentstate session export research-bot --session <id> --dapr-app-id agentstate   # inside a pod

Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 unauthenticated or forbidden,
4 not found, 5 conflict, 6 integrity (checksum or version), 7 unavailable, 8 pending approval.`,
    );
  registerServe(program);
  registerToken(program, { env: io.env, out: io.out });
  registerSession(program, io);
  registerSnapshot(program, io);
  registerSubject(program, io);
  registerConfig(program, io);
  registerBackup(program, io);
  registerApprovals(program, io);
  registerAudit(program, io);
  registerBriefing(program, io);
  registerThreads(program, io);
  return program;
}
