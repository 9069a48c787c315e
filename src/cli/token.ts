import type { Command } from 'commander';
import { z } from 'zod';
import { idSchema, rolesSchema } from '../core/identity/caller.ts';
import { issueToken, MAX_TOKEN_TTL_SECONDS } from '../core/identity/tokens.ts';
import { asUsageError, USAGE_EXIT_CODE } from './exit-codes.ts';
import { readTokenKey, resolveDataDir, TOKEN_KEY_ENV } from './token-key.ts';

export { USAGE_EXIT_CODE } from './exit-codes.ts';

/** Where the command reads its environment and writes its output; tests pass their own. */
export interface TokenCommandIo {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default writes to process.stdout */
  readonly out?: (text: string) => void;
}

const ttlMessage = `must be a whole number of seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}`;

const issueFlagsSchema = z.strictObject({
  tenant: idSchema,
  agent: idSchema,
  role: rolesSchema,
  ttl: z.coerce
    .number({ error: ttlMessage })
    .int({ error: ttlMessage })
    .min(1, { error: ttlMessage })
    .max(MAX_TOKEN_TTL_SECONDS, { error: ttlMessage })
    .default(3600),
  key: z
    .string()
    .min(
      1,
      `no token key: pass --key, set ${TOKEN_KEY_ENV}, or run the embedded service once (npm start) to generate one in its data folder`,
    ),
  json: z.boolean().default(false),
});

// A type literal, not an interface, so that it is indexable by flag name.
type IssueFlags = {
  tenant?: string;
  agent?: string;
  role?: string[];
  ttl?: string;
  key?: string;
  dataDir?: string;
  json?: boolean;
};

/** `agentstate token issue`: mints a bearer token with `issueToken`. */
export function registerToken(program: Command, io: TokenCommandIo = {}): void {
  const { env = process.env, out = (text: string) => void process.stdout.write(text) } = io;
  const token = program
    .command('token')
    .description('bearer tokens for agents, supervisors and operators')
    .exitOverride(asUsageError);
  token
    .command('issue')
    .description('mint an HS256 bearer token signed with the agentstate-token-key secret')
    .option('--tenant <tenant>', 'tenant id')
    .option('--agent <agent>', 'the principal: agent id (token subject)')
    .option(
      '--role <role>',
      'agent | supervisor | operator; repeat for several',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--ttl <seconds>', 'lifetime in seconds (default 3600)')
    .option(
      '--key <secret>',
      `the token key secret (env ${TOKEN_KEY_ENV}, as the worker reads it; prefer it: flags show in process lists)`,
    )
    .option(
      '--data-dir <dir>',
      "without a key: read the embedded worker's, from <dir>/secrets.json (env AGENTSTATE_DATA_DIR, default ./.agentstate)",
    )
    .option('--json', 'print { token, expires_at, tenant, subject, roles }')
    .exitOverride(asUsageError)
    .action(async (flags: IssueFlags, command: Command) => {
      const { dataDir, ...issueFlags } = flags;
      const parsed = issueFlagsSchema.safeParse({
        ...issueFlags,
        key: flags.key ?? (await readTokenKey(env, resolveDataDir(env, dataDir))) ?? '',
      });
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => {
          const flag = String(issue.path[0]);
          const given: Record<string, unknown> = flags;
          const missing = flag !== 'key' && given[flag] === undefined;
          return `  --${flag}: ${missing ? 'is required' : issue.message}`;
        });
        command.error(`token issue: invalid arguments\n${problems.join('\n')}`, {
          exitCode: USAGE_EXIT_CODE,
          code: 'agentstate.invalidArguments',
        });
      }
      const { tenant, agent, role, ttl, key, json } = parsed.data;
      const issued = await issueToken(key, { tenant, subject: agent, roles: role, ttlSeconds: ttl });
      out(
        json
          ? `${JSON.stringify({ token: issued.token, expires_at: issued.expiresAt.toISOString(), tenant, subject: agent, roles: issued.roles })}\n`
          : `${issued.token}\n`,
      );
    });
}
