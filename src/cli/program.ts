import { Command } from 'commander';
import { registerServe } from './serve.ts';
import { registerToken } from './token.ts';

/** The `agentstate` command line: one file per command group, each thin. */
export function createProgram(): Command {
  const program = new Command('agentstate')
    .description('state and memory for fleets of AI agents on Kubernetes and Dapr')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerToken(program);
  return program;
}
