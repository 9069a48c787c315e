import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../core/errors.ts';
import { configFormatOf, decodeConfig, encodeConfig } from '../portability/config-document.ts';
import { exportInstanceConfig } from '../portability/config-export.ts';
import { planConfigImport, type ConfigImportReport } from '../portability/config-import.ts';
import type { CliIo } from './cli-io.ts';
import { readInputFile } from './input-file.ts';
import { jsonLine, listTable, writeFileWhole } from './output.ts';
import { resolveDataDir } from './token-key.ts';

/** `agentstate config export|import`: the instance configuration of spec/001, as files. */
export function registerConfig(program: Command, io: CliIo): void {
  const config = program
    .command('config')
    .description('the instance configuration (policy, limits, store, component and secret names) as a file');

  config
    .command('export')
    .description(
      "write this environment's configuration, as `agentstate serve` reads it; never secret values",
    )
    .argument('<file>', 'JSON or YAML, by its extension (.json, .yaml, .yml)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ AGENTSTATE_ENVIRONMENT=dev agentstate config export dev-config.yaml',
    )
    .action(async (file: string) => {
      const format = configFormatOf(file);
      const document = await exportInstanceConfig(io.env);
      await writeText(file, encodeConfig(document, format));
      io.err(`agentstate: wrote the configuration of "${document.source_environment}" to ${file}\n`);
    });

  config
    .command('import')
    .description(
      'restore a configuration as the environment of `agentstate serve`: agentstate.env and policy.yaml',
    )
    .argument('<file>', 'a file `config export` wrote (JSON or YAML, by its extension)')
    .option('--out-dir <dir>', 'where to write them (env AGENTSTATE_DATA_DIR, default ./.agentstate)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ agentstate config import dev-config.yaml\n  $ set -a; . ./.agentstate/agentstate.env; set +a; npm start',
    )
    .action(async (file: string, flags: { outDir?: string; json?: boolean }) => {
      const document = decodeConfig(await readInputFile(file), configFormatOf(file));
      const dir = resolve(flags.outDir ?? resolveDataDir(io.env));
      const plan = planConfigImport(document, { env: io.env, policyPath: join(dir, 'policy.yaml') });
      try {
        await mkdir(dir, { recursive: true });
      } catch (error) {
        throw new AppError('IoError', `cannot create ${dir}`, { cause: error });
      }
      // The policy first: the environment file names it.
      if (plan.policyFile !== undefined) await writeText(join(dir, 'policy.yaml'), plan.policyFile);
      await writeText(join(dir, 'agentstate.env'), plan.envFile);
      io.out(flags.json ? jsonLine(plan.report) : reportText(plan.report, dir));
    });
}

function writeText(path: string, text: string): Promise<void> {
  return writeFileWhole(path, new Blob([text]).stream());
}

function reportText(report: ConfigImportReport, dir: string): string {
  const parts = [
    `Restored into ${join(dir, 'agentstate.env')}:\n`,
    listTable(
      ['Setting', 'Variable', 'Value'],
      report.restored.map(({ setting, env_var, value }) => [setting, env_var, value]),
    ),
  ];
  if (report.skipped.length > 0) {
    parts.push(
      'Skipped:\n',
      listTable(
        ['Setting', 'Reason'],
        report.skipped.map(({ setting, reason }) => [setting, reason]),
      ),
    );
  }
  if (report.secrets_to_set.length > 0) {
    parts.push(
      'Secrets to set (values are never exported):\n',
      listTable(
        ['Secret', 'Variable', 'Used for'],
        report.secrets_to_set.map(({ name, env_var, used_for }) => [name, env_var, used_for]),
      ),
    );
  }
  parts.push(
    `Start the worker with it: set -a; . ${join(dir, 'agentstate.env')}; set +a; agentstate serve\n`,
  );
  return parts.join('');
}
