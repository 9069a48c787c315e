import { CommanderError } from 'commander';
import { createProgram } from './cli/program.ts';

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
