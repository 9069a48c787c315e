import {
  sharedDeleteInputSchema,
  sharedDeleteResultSchema,
  sharedGetInputSchema,
  sharedGetResultSchema,
  sharedListInputSchema,
  sharedListResultSchema,
  sharedSetInputSchema,
  sharedSetResultSchema,
} from '../core/state/shared-schemas.ts';
import { sharedWatchInputSchema, sharedWatchResultSchema } from '../core/watch/watch-schemas.ts';
import { canAccessShared } from '../core/identity/authorize.ts';
import { currentSession, tenantSharedState } from './call-scope.ts';
import { defineCapability } from './capability.ts';

// A shared write is owned by the caller's principal, never by `x-agent-id`: a supervisor
// naming an agent may read that agent's state but must not sign shared writes as it.
// A gateway acting for an agent has that agent as its principal already.

export const sharedCapabilities = [
  defineCapability({
    name: 'state.shared.get',
    permission: 'autonomous',
    description:
      "Retrieves a value of the tenant's shared state with the version to pass to state.shared.set.",
    input: sharedGetInputSchema,
    output: sharedGetResultSchema,
    run: (services, context, { key }) => tenantSharedState(services, context, 'read').get(key),
  }),
  defineCapability({
    name: 'state.shared.set',
    permission: 'notify',
    description:
      "Stores a key-value pair in the tenant's shared state if its version is still expected_version (0 creates).",
    input: sharedSetInputSchema,
    output: sharedSetResultSchema,
    run: (services, context, { key, value, expected_version }) =>
      tenantSharedState(services, context, 'write').set(
        context.caller.principal,
        key,
        value,
        expected_version,
      ),
  }),
  defineCapability({
    name: 'state.shared.delete',
    permission: 'notify',
    description: "Removes a key from the tenant's shared state.",
    input: sharedDeleteInputSchema,
    output: sharedDeleteResultSchema,
    run: (services, context, { key, expected_version }) =>
      tenantSharedState(services, context, 'write').delete(context.caller.principal, key, expected_version),
  }),
  defineCapability({
    name: 'state.shared.list',
    permission: 'autonomous',
    description:
      "Lists the keys of the tenant's shared state with version, size, last writer and update time.",
    input: sharedListInputSchema,
    output: sharedListResultSchema,
    run: (services, context, input) => tenantSharedState(services, context, 'read').list(input),
  }),
  defineCapability({
    name: 'state.shared.watch',
    permission: 'autonomous',
    description:
      "Subscribes the current session's agent to changes of shared keys under a prefix; changes arrive in its inbox until the session ends.",
    input: sharedWatchInputSchema,
    output: sharedWatchResultSchema,
    run: async (services, context, { prefix }) => {
      canAccessShared(context.caller, context.caller.tenant, 'read');
      const session = await currentSession(services, context, 'write');
      return services.watches.subscribe({
        tenant: context.caller.tenant,
        agent: session.agent,
        sessionId: session.session_id,
        ...(prefix === undefined ? {} : { prefix }),
      });
    },
  }),
];
