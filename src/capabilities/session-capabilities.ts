import {
  sessionClearInputSchema,
  sessionClearResultSchema,
  sessionDeleteInputSchema,
  sessionDeleteResultSchema,
  sessionGetInputSchema,
  sessionGetResultSchema,
  sessionListInputSchema,
  sessionListResultSchema,
  sessionSetInputSchema,
  sessionSetResultSchema,
} from '../core/sessions/session-schemas.ts';
import type { AccessMode } from '../core/identity/authorize.ts';
import type { SessionState } from '../core/sessions/session-state.ts';
import { inCurrentSession } from './call-scope.ts';
import { defineCapability, type CallContext } from './capability.ts';
import type { StateServices } from './state-services.ts';

function sessionState(
  services: StateServices,
  context: CallContext,
  mode: AccessMode,
): Promise<SessionState> {
  return inCurrentSession(context, mode, async (tenant, id, access) =>
    services.sessions.state(tenant, id, access),
  );
}

export const sessionCapabilities = [
  defineCapability({
    name: 'state.session.get',
    permission: 'autonomous',
    description: "Retrieves a value from the current session's state by key.",
    input: sessionGetInputSchema,
    output: sessionGetResultSchema,
    run: async (services, context, { key }) => (await sessionState(services, context, 'read')).get(key),
  }),
  defineCapability({
    name: 'state.session.set',
    permission: 'autonomous',
    description:
      "Stores a key-value pair in the current session's state; it is destroyed when the session ends.",
    input: sessionSetInputSchema,
    output: sessionSetResultSchema,
    run: async (services, context, { key, value }) =>
      (await sessionState(services, context, 'write')).set(key, value),
  }),
  defineCapability({
    name: 'state.session.delete',
    permission: 'autonomous',
    description: "Removes a key-value pair from the current session's state.",
    input: sessionDeleteInputSchema,
    output: sessionDeleteResultSchema,
    run: async (services, context, { key }) => (await sessionState(services, context, 'write')).delete(key),
  }),
  defineCapability({
    name: 'state.session.list',
    permission: 'autonomous',
    description: "Lists the keys of the current session's state, sorted, optionally filtered by prefix.",
    input: sessionListInputSchema,
    output: sessionListResultSchema,
    run: async (services, context, input) => (await sessionState(services, context, 'read')).list(input),
  }),
  defineCapability({
    name: 'state.session.clear',
    permission: 'autonomous',
    description: "Removes every key-value pair of the current session's state.",
    input: sessionClearInputSchema,
    output: sessionClearResultSchema,
    run: async (services, context) => (await sessionState(services, context, 'write')).clear(),
  }),
];
