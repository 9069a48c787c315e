import { z } from 'zod';
import { canAccessAgentScope } from '../core/identity/authorize.ts';
import { idSchema } from '../core/identity/caller.ts';
import { parseInput } from '../core/parse-input.ts';
import {
  appendEventInputSchema,
  appendMessageInputSchema,
  logPageInputSchema,
  type EndSessionResult,
  type EventPage,
  type Message,
  type MessagePage,
  type SessionEvent,
  type SessionInfo,
} from '../core/sessions/session-schemas.ts';
import { currentSession, inCurrentSession } from './call-scope.ts';
import type { CallContext } from './capability.ts';
import type { StateServices } from './state-services.ts';

// The session operations that are not capabilities of the spec (lifecycle, messages,
// events), authorized the same way: the caller must reach the session's agent.

export const openSessionRequestSchema = z.strictObject({
  agent: idSchema
    .exactOptional()
    .describe('The agent the session is for; the caller (or x-agent-id) when left out.'),
});

/** Opens a session in the caller's tenant for the named agent, or the call's agent. */
export async function openSession(
  services: StateServices,
  context: CallContext,
  body: unknown,
): Promise<SessionInfo> {
  const { agent = context.agent } = parseInput(openSessionRequestSchema, body, 'session request');
  const tenant = context.caller.tenant;
  canAccessAgentScope(context.caller, tenant, agent, 'write');
  return services.sessions.open({ tenant, agent });
}

export const getSession = (services: StateServices, context: CallContext): Promise<SessionInfo> =>
  currentSession(services, context, 'read');

export const endSession = (services: StateServices, context: CallContext): Promise<EndSessionResult> =>
  inCurrentSession(context, 'write', (tenant, id, access) => services.sessions.end(tenant, id, access));

export function appendMessage(
  services: StateServices,
  context: CallContext,
  body: unknown,
): Promise<Message> {
  const input = parseInput(appendMessageInputSchema, body, 'message');
  return inCurrentSession(context, 'write', (tenant, id, access) =>
    services.sessions.appendMessage(tenant, id, input, access),
  );
}

export function listMessages(
  services: StateServices,
  context: CallContext,
  query: unknown,
): Promise<MessagePage> {
  const page = parseInput(logPageInputSchema, query, 'page');
  return inCurrentSession(context, 'read', (tenant, id, access) =>
    services.sessions.listMessages(tenant, id, page, access),
  );
}

export function appendEvent(
  services: StateServices,
  context: CallContext,
  body: unknown,
): Promise<SessionEvent> {
  const input = parseInput(appendEventInputSchema, body, 'event');
  return inCurrentSession(context, 'write', (tenant, id, access) =>
    services.sessions.appendEvent(tenant, id, input, access),
  );
}

export function listEvents(
  services: StateServices,
  context: CallContext,
  query: unknown,
): Promise<EventPage> {
  const page = parseInput(logPageInputSchema, query, 'page');
  return inCurrentSession(context, 'read', (tenant, id, access) =>
    services.sessions.listEvents(tenant, id, page, access),
  );
}
