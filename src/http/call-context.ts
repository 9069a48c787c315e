import type { Request } from 'express';
import type { CallContext } from '../capabilities/capability.ts';
import { AppError } from '../core/errors.ts';
import { idSchema } from '../core/identity/caller.ts';
import { singleHeader } from '../core/identity/policy.ts';

/**
 * The context of a capability call from an authenticated request: the agent is
 * `agent` (a REST path's), else `x-agent-id`, else the caller; the session is
 * `sessionId` (a REST path's), else `x-session-id`. Authorization comes later, in the
 * capability: naming an agent grants nothing.
 */
export function callContext(req: Request, scope: { agent?: string; sessionId?: string } = {}): CallContext {
  const agent = scope.agent ?? singleHeader(req.headers, 'x-agent-id') ?? req.caller.principal;
  if (!idSchema.safeParse(agent).success) {
    throw new AppError('InvalidInput', `agent id ${JSON.stringify(agent.slice(0, 80))} is not a valid id`);
  }
  const sessionId = scope.sessionId ?? singleHeader(req.headers, 'x-session-id');
  return { caller: req.caller, agent, ...(sessionId === undefined ? {} : { sessionId }) };
}

/**
 * A query string as capability input: whole numbers (`limit=10`, `version=-1`) become
 * numbers, so that the input schema judges them; anything else stays text, and a
 * repeated parameter stays a list, which no schema accepts.
 */
export function queryInput(req: Request, omit: readonly string[] = []): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(req.query as Record<string, unknown>)
      .filter(([name]) => !omit.includes(name))
      .map(([name, value]) => [
        name,
        typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value,
      ]),
  );
}

/**
 * A JSON request body, `{}` when there is none (a POST without a body). A body sent
 * with another content type is not parsed; taking it for none would answer with
 * complaints about missing fields, so it is `InvalidInput` saying what is wrong.
 */
export function bodyOf(req: Request): unknown {
  if (req.body !== undefined) return req.body;
  const sent =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (sent) {
    const type = req.headers['content-type'] ?? 'none';
    throw new AppError(
      'InvalidInput',
      `the body must be JSON sent with Content-Type: application/json (it was sent as ${JSON.stringify(type.slice(0, 80))})`,
    );
  }
  return {};
}
