import { CommanderError } from 'commander';
import { isAppError } from './core/errors.ts';
import { exitCodeOf, ExitCode } from './cli/exit-codes.ts';
import { createProgram } from './cli/program.ts';

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}

/** Writes the error on stderr with its code; answers the exit code of the table in exit-codes.ts. */
function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode;
  if (isAppError(error)) {
    const details = error.details === undefined ? '' : `\n${JSON.stringify(error.details)}`;
    process.stderr.write(`agentstate: ${error.code}: ${error.message}${details}\n`);
    return exitCodeOf[error.code];
  }
  process.stderr.write(`agentstate: ${error instanceof Error ? error.message : String(error)}\n`);
  return ExitCode.failure;
}
