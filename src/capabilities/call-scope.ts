import { AppError } from '../core/errors.ts';
import { canAccessAgentScope, canAccessShared, type AccessMode } from '../core/identity/authorize.ts';
import type { SessionInfo } from '../core/sessions/session-schemas.ts';
import type { PersistentState } from '../core/state/persistent-state.ts';
import type { SharedState } from '../core/state/shared-state.ts';
import type { CallContext } from './capability.ts';
import type { StateServices } from './state-services.ts';

// Every capability reaches storage through one of these, so none can skip the check.

/** The live current session (`x-session-id`), once the caller may `mode` its agent's state. */
export async function currentSession(
  services: StateServices,
  context: CallContext,
  mode: AccessMode,
): Promise<SessionInfo> {
  if (context.sessionId === undefined) {
    throw new AppError(
      'SessionNotFound',
      'no current session: send the x-session-id header with a session_id that POST /v1/sessions answered',
    );
  }
  const tenant = context.caller.tenant;
  const session = await services.sessions.get(tenant, context.sessionId);
  canAccessAgentScope(context.caller, tenant, session.agent, mode);
  return session;
}

/**
 * Runs `run` on the current session (`currentSession`) once the caller may `mode` it,
 * with the tenant and id every session call names it by.
 */
export async function inCurrentSession<T>(
  services: StateServices,
  context: CallContext,
  mode: AccessMode,
  run: (tenant: string, sessionId: string) => Promise<T>,
): Promise<T> {
  const session = await currentSession(services, context, mode);
  return run(context.caller.tenant, session.session_id);
}

/** The persistent state of the call's agent, once the caller may `mode` it. */
export function agentPersistentState(
  services: StateServices,
  context: CallContext,
  mode: AccessMode,
): PersistentState {
  const tenant = context.caller.tenant;
  canAccessAgentScope(context.caller, tenant, context.agent, mode);
  return services.persistent(tenant, context.agent);
}

/** The shared state of the caller's tenant, once the caller may `mode` it. */
export function tenantSharedState(
  services: StateServices,
  context: CallContext,
  mode: AccessMode,
): SharedState {
  canAccessShared(context.caller, context.caller.tenant, mode);
  return services.shared(context.caller.tenant);
}
