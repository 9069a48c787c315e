import { Router, type Response } from 'express';
import { AppError } from '../../core/errors.ts';
import { canAccessAgentScope, canAccessShared } from '../../core/identity/authorize.ts';
import { idSchema } from '../../core/identity/caller.ts';
import { parseInput } from '../../core/parse-input.ts';
import type { SharedChangeEvent } from '../../core/state/shared-events.ts';
import {
  inboxAckInputSchema,
  inboxListInputSchema,
  sharedWatchInputSchema,
  type WatchedChange,
} from '../../core/watch/watch-schemas.ts';
import type { Watches } from '../../core/watch/watches.ts';
import type { LiveChanges } from '../../service/change-feed.ts';
import { bodyOf, queryInput } from '../call-context.ts';

export interface WatchRoutesOptions {
  readonly watches: Pick<Watches, 'inbox'>;
  readonly live: Pick<LiveChanges, 'listen'>;
  /** How often an idle stream gets a comment line, so proxies keep it open. @default 15000 */
  readonly heartbeatMs?: number;
}

/**
 * The live and durable ends of `state.shared.watch`:
 * - `GET /v1/shared/watch?prefix=`: Server-Sent Events of the caller's tenant's shared
 *   changes under `prefix` while the connection lasts, from whichever replica holds it:
 *   `event: change`, `id: <change id>`, `data: <change as JSON>`. Headers are sent at
 *   once, so a client knows it is subscribed when they arrive. Best effort, like any live
 *   stream: a change while disconnected is not replayed (`Last-Event-ID` is ignored); the
 *   inbox of a `state.shared.watch` subscription is what keeps every change.
 * - `GET /v1/agents/{agent}/inbox?after=&limit=`: a page of the agent's unread inbox.
 * - `POST /v1/agents/{agent}/inbox/ack` with `{"through": n}`: acknowledges (removes)
 *   entries up to `n`.
 */
export function watchRoutes({ watches, live, heartbeatMs = 15_000 }: WatchRoutesOptions): Router {
  const router = Router();

  router.get('/v1/shared/watch', (req, res) => {
    const { tenant } = req.caller;
    canAccessShared(req.caller, tenant, 'read');
    // The raw query: a prefix such as `2024` is text, not a number.
    const { prefix = '' } = parseInput(sharedWatchInputSchema, req.query, 'watch query');
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx (and ingress-nginx) would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write(': watching\n\n');

    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    const stop = live.listen(
      tenant,
      prefix,
      (event) => writeChange(res, event),
      () => res.end(),
    );
    res.on('close', () => {
      clearInterval(heartbeat);
      stop();
    });
  });

  router.get('/v1/agents/:agent/inbox', async (req, res) => {
    const agent = agentOf(req.params.agent);
    canAccessAgentScope(req.caller, req.caller.tenant, agent, 'read');
    const input = parseInput(inboxListInputSchema, queryInput(req), 'inbox query');
    res.json(await watches.inbox(req.caller.tenant, agent).list(input));
  });

  router.post('/v1/agents/:agent/inbox/ack', async (req, res) => {
    const agent = agentOf(req.params.agent);
    canAccessAgentScope(req.caller, req.caller.tenant, agent, 'write');
    const input = parseInput(inboxAckInputSchema, bodyOf(req), 'inbox acknowledgement');
    res.json(await watches.inbox(req.caller.tenant, agent).ack(input));
  });

  return router;
}

function writeChange(res: Response, { id, key, version, owner_agent, operation, at }: SharedChangeEvent) {
  const data: WatchedChange = { id, key, version, owner_agent, operation, at };
  // JSON has no raw newline, so one `data:` line carries the whole change.
  res.write(`event: change\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
}

function agentOf(agent: string | undefined): string {
  if (agent === undefined || !idSchema.safeParse(agent).success)
    throw new AppError(
      'InvalidInput',
      `agent id ${JSON.stringify((agent ?? '').slice(0, 80))} is not a valid id`,
    );
  return agent;
}
