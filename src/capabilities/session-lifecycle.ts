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
import { currentSession } from './call-scope.ts';
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

export async function endSession(services: StateServices, context: CallContext): Promise<EndSessionResult> {
  const session = await currentSession(services, context, 'write');
  return services.sessions.end(context.caller.tenant, session.session_id);
}

export async function appendMessage(
  services: StateServices,
  context: CallContext,
  body: unknown,
): Promise<Message> {
  const input = parseInput(appendMessageInputSchema, body, 'message');
  const session = await currentSession(services, context, 'write');
  return services.sessions.appendMessage(context.caller.tenant, session.session_id, input);
}

export async function listMessages(
  services: StateServices,
  context: CallContext,
  query: unknown,
): Promise<MessagePage> {
  const page = parseInput(logPageInputSchema, query, 'page');
  const session = await currentSession(services, context, 'read');
  return services.sessions.listMessages(context.caller.tenant, session.session_id, page);
}

export async function appendEvent(
  services: StateServices,
  context: CallContext,
  body: unknown,
): Promise<SessionEvent> {
  const input = parseInput(appendEventInputSchema, body, 'event');
  const session = await currentSession(services, context, 'write');
  return services.sessions.appendEvent(context.caller.tenant, session.session_id, input);
}

export async function listEvents(
  services: StateServices,
  context: CallContext,
  query: unknown,
): Promise<EventPage> {
  const page = parseInput(logPageInputSchema, query, 'page');
  const session = await currentSession(services, context, 'read');
  return services.sessions.listEvents(context.caller.tenant, session.session_id, page);
}
