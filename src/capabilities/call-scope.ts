import { AppError } from '../core/errors.ts';
import { canAccessAgentScope, canAccessShared, type AccessMode } from '../core/identity/authorize.ts';
import type { SessionAccess } from '../core/sessions/session-record.ts';
import type { SessionInfo } from '../core/sessions/session-schemas.ts';
import type { PersistentState } from '../core/state/persistent-state.ts';
import type { SharedState } from '../core/state/shared-state.ts';
import type { CallContext } from './capability.ts';
import type { StateServices } from './state-services.ts';

// Every capability reaches storage through one of these, so none can skip the check.

/**
 * Runs `run` on the current session (`x-session-id`; `SessionNotFound` without one)
 * with the check that the caller may `mode` the state of the session's agent. The
 * session calls run the check on the session record they read anyway, before they
 * write anything, so authorization costs no extra store operation.
 */
export function inCurrentSession<T>(
  context: CallContext,
  mode: AccessMode,
  run: (tenant: string, sessionId: string, access: SessionAccess) => Promise<T>,
): Promise<T> {
  if (context.sessionId === undefined) {
    throw new AppError(
      'SessionNotFound',
      'no current session: send the x-session-id header with a session_id that POST /v1/sessions answered',
    );
  }
  const { caller } = context;
  return run(caller.tenant, context.sessionId, (session) =>
    canAccessAgentScope(caller, caller.tenant, session.agent, mode),
  );
}

/** The live current session, once the caller may `mode` its agent's state. */
export function currentSession(
  services: StateServices,
  context: CallContext,
  mode: AccessMode,
): Promise<SessionInfo> {
  return inCurrentSession(context, mode, (tenant, id, access) => services.sessions.get(tenant, id, access));
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
