import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { idSchema, rolesSchema, type Caller } from './caller.ts';

/** What one Dapr app may do when it calls agentstate through service invocation. */
export const appPolicySchema = z.strictObject({
  /** The tenant every request of this app runs in. */
  tenant: idSchema,
  /** The roles the app itself holds (when it does not act for an agent). */
  roles: rolesSchema,
  /**
   * May the app name the agent it acts for in `x-agent-id`? Then the request runs as
   * that agent, with role `agent` only, in the app's tenant. For agent gateways.
   * @default false
   */
  actForAgents: z.boolean().default(false),
});

/**
 * The app-id policy: which Dapr apps may call, in which tenant, with which roles.
 * An app id not listed is refused, so the empty policy admits no Dapr caller.
 *
 * ```yaml
 * apps:
 *   agent-gateway: { tenant: acme, roles: [agent], actForAgents: true }
 *   backup-job:    { tenant: acme, roles: [operator] }
 * ```
 */
export const policySchema = z.strictObject({
  apps: z.record(idSchema, appPolicySchema),
});

export type AppPolicy = z.infer<typeof appPolicySchema>;
export type Policy = z.infer<typeof policySchema>;

/** Admits no Dapr caller: bearer tokens only. */
export const emptyPolicy: Policy = { apps: {} };

/**
 * Parses a policy from JSON or YAML text (`AGENTSTATE_POLICY` or a policy file). YAML
 * 1.2 reads every JSON document, so one parser serves both and refuses duplicate keys,
 * which `JSON.parse` would silently resolve to the last. Unknown fields are errors so a
 * typo (`actForAgent`) cannot quietly deny or grant. Bad text is `InvalidInput`.
 */
export function parsePolicy(text: string): Policy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new AppError(
      'InvalidInput',
      `policy is neither valid JSON nor valid YAML: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const parsed = policySchema.safeParse(document);
  if (!parsed.success) {
    throw new AppError('InvalidInput', `invalid policy:\n${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Request headers as node gives them (lower-case names). */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * The caller of a Dapr service invocation from `appId` (the sidecar's
 * `dapr-caller-app-id`, which the caller of this function must already have
 * authenticated with the app API token).
 *
 * - An app not in the policy is `Forbidden`.
 * - Without `x-agent-id` the app calls as itself: principal = app id, with its roles.
 * - With `x-agent-id: X` an app whose policy has `actForAgents: true` becomes agent X
 *   (role `agent` only, the app's tenant; `actingFor` names the app); any other app is
 *   `Forbidden`. A malformed `x-agent-id` is `InvalidInput`.
 */
export function resolveDaprCaller(policy: Policy, appId: string, headers: RequestHeaders): Caller {
  // `hasOwn`: an app id such as `constructor` must not find Object.prototype.
  const app = Object.hasOwn(policy.apps, appId) ? policy.apps[appId] : undefined;
  if (app === undefined || !idSchema.safeParse(appId).success) {
    throw new AppError(
      'Forbidden',
      `Dapr app ${JSON.stringify(appId)} is not allowed by the agentstate policy`,
    );
  }
  const agentId = singleHeader(headers, 'x-agent-id');
  if (agentId === undefined) {
    return { tenant: app.tenant, principal: appId, roles: [...app.roles], via: 'dapr', appId };
  }
  if (!app.actForAgents) {
    throw new AppError(
      'Forbidden',
      `Dapr app ${JSON.stringify(appId)} may not act for agents (x-agent-id); its policy lacks actForAgents`,
    );
  }
  if (!idSchema.safeParse(agentId).success) {
    throw new AppError('InvalidInput', 'x-agent-id is not a valid agent id');
  }
  return { tenant: app.tenant, principal: agentId, roles: ['agent'], via: 'dapr', appId, actingFor: appId };
}

/** The value of header `name`, or undefined when absent; repeated headers are `InvalidInput`. */
export function singleHeader(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value.length === 1) return value[0];
  throw new AppError('InvalidInput', `header ${name} must appear once`);
}
