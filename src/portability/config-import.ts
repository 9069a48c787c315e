import { stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import type { Policy } from '../core/identity/policy.ts';
import {
  componentVariables,
  limitVariables,
  type ConfigComponents,
  type ConfigDocument,
  type ConfigLimits,
} from './config-document.ts';

export const configImportReportSchema = z.object({
  restored: z
    .array(z.object({ setting: z.string(), env_var: z.string(), value: z.string() }))
    .describe('Settings written to the environment file.'),
  skipped: z
    .array(z.object({ setting: z.string(), reason: z.string() }))
    .describe('Settings of the document not restored, and why.'),
  secrets_to_set: z
    .array(z.object({ name: z.string(), env_var: z.string(), used_for: z.string() }))
    .describe('Secrets the document names that this environment does not set.'),
});
export type ConfigImportReport = z.infer<typeof configImportReportSchema>;

/** What `config import` writes: the worker's environment, and the policy file it names. */
export interface ConfigImportPlan {
  /** `NAME=value` lines, values single-quoted for a POSIX shell. */
  readonly envFile: string;
  /** The policy as YAML, when the document's admits any app. */
  readonly policyFile?: string;
  readonly report: ConfigImportReport;
}

export interface ConfigImportOptions {
  /** The environment the imported configuration is for: its own settings win. */
  readonly env: NodeJS.ProcessEnv;
  /** Where the policy file will be, as the environment file names it. */
  readonly policyPath: string;
}

/**
 * Restores what it can of `document` as the environment of `agentstate serve` (which
 * reads its configuration only from the environment): each setting becomes a variable,
 * unless the target environment already sets that variable, which wins and is reported
 * as skipped, as is a policy when the target has one. Secret values are never in a
 * document; those the target does not set are listed.
 */
export function planConfigImport(document: ConfigDocument, options: ConfigImportOptions): ConfigImportPlan {
  const { env } = options;
  const restored: ConfigImportReport['restored'] = [];
  const skipped: ConfigImportReport['skipped'] = [];
  const restore = (setting: string, variable: string, value: string) => {
    const current = env[variable];
    if (current !== undefined && current !== '' && current !== value) {
      skipped.push({ setting, reason: `${variable} is already ${JSON.stringify(current)} here` });
    } else restored.push({ setting, env_var: variable, value });
  };

  restore('store', 'AGENTSTATE_STORE', document.store);
  for (const [name, variable] of Object.entries(limitVariables))
    restore(`limits.${name}`, variable, String(document.limits[name as keyof ConfigLimits]));
  for (const [name, variable] of Object.entries(componentVariables))
    restore(`components.${name}`, variable, document.components[name as keyof ConfigComponents]);

  const policyFile = policyToWrite(document.policy, env, skipped);
  if (policyFile !== undefined)
    restored.push({ setting: 'policy', env_var: 'AGENTSTATE_POLICY_FILE', value: options.policyPath });

  const secrets_to_set = document.secrets.filter(({ env_var }) => (env[env_var] ?? '') === '');
  const envFile = restored.map(({ env_var, value }) => `${env_var}=${shellQuote(value)}\n`).join('');
  return {
    envFile,
    ...(policyFile === undefined ? {} : { policyFile }),
    report: { restored, skipped, secrets_to_set },
  };
}

function policyToWrite(
  policy: Policy,
  env: NodeJS.ProcessEnv,
  skipped: ConfigImportReport['skipped'],
): string | undefined {
  if (Object.keys(policy.apps).length === 0) return undefined;
  const own = ['AGENTSTATE_POLICY', 'AGENTSTATE_POLICY_FILE'].find((name) => (env[name] ?? '') !== '');
  if (own !== undefined) {
    skipped.push({ setting: 'policy', reason: `${own} already sets the policy here` });
    return undefined;
  }
  return stringifyYaml(policy);
}

/** `value` single-quoted for a POSIX shell (`set -a; . ./agentstate.env`). */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
