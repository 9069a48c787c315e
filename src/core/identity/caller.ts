import { z } from 'zod';

/**
 * A tenant, agent (principal) or Dapr app id: 1 to 63 characters of letters, digits,
 * `.`, `_` and `-`, starting with a letter or digit. The bound matches a Kubernetes
 * label (Dapr app ids live there) and the charset keeps ids safe inside storage keys,
 * log lines and URLs without escaping.
 */
export const idSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/**
 * What a caller may do:
 * - `agent`: its own session and persistent state, its tenant's shared state;
 * - `supervisor`: additionally reads every agent of its tenant and approves;
 * - `operator`: reads and writes every agent of its tenant, admin API, backups, imports.
 */
export const roleSchema = z.enum(['agent', 'supervisor', 'operator']);
export type Role = z.infer<typeof roleSchema>;

/** Every role, in order of increasing reach. */
export const allRoles: readonly Role[] = roleSchema.options;

/** One or more roles, without duplicates. */
export const rolesSchema = z
  .array(roleSchema)
  .min(1, 'needs at least one role')
  .refine((list) => new Set(list).size === list.length, 'must not repeat a role');

/**
 * The identity a request runs as, set by the authentication middleware and checked by
 * `authorize.ts` before any capability touches storage.
 */
export const callerSchema = z.strictObject({
  /** Every key the caller reaches is under this tenant; nothing crosses tenants. */
  tenant: idSchema,
  /** The agent (or app, or person) the request acts as: a token's `sub`, or a Dapr app id. */
  principal: idSchema,
  roles: rolesSchema,
  /** How the identity was proven: a bearer token, or Dapr service invocation with the app API token. */
  via: z.enum(['token', 'dapr']),
  /** The calling Dapr app (`dapr-caller-app-id`), for `via: 'dapr'` only. */
  appId: idSchema.optional(),
  /**
   * Present only when a gateway app acts for an agent (`x-agent-id`): the id of the app
   * that acts, while `principal` is the agent it acts for. Audit records name both.
   */
  actingFor: idSchema.optional(),
});

export type Caller = z.infer<typeof callerSchema>;

/** Whether `caller` holds `role`. */
export function hasRole(caller: Pick<Caller, 'roles'>, role: Role): boolean {
  return caller.roles.includes(role);
}
