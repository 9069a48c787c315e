import { Router, type Request } from 'express';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import {
  appendEvent,
  appendMessage,
  endSession,
  getSession,
  listEvents,
  listMessages,
  openSession,
} from '../../capabilities/session-lifecycle.ts';
import type { StateServices } from '../../capabilities/state-services.ts';
import type { AutoCheckpoints } from '../../portability/auto-checkpoints.ts';
import { bodyOf, callContext, queryInput } from '../call-context.ts';
import { requiredValue } from './persistent.ts';

/**
 * REST for sessions (README, HTTP API: REST). Keys of session state are one
 * percent-encoded path segment, as in `persistent.ts`.
 * - `POST /v1/sessions` (`{agent?}`) opens; `GET` / `DELETE /v1/sessions/{id}` reads / ends
 *   (and `checkpoints` may snapshot the session on its end and every N messages)
 * - `GET /v1/sessions/{id}/state?prefix=&limit=&cursor=` lists; `DELETE .../state` clears
 * - `GET` / `PUT` / `DELETE /v1/sessions/{id}/state/{key}`
 * - `POST` / `GET /v1/sessions/{id}/messages` and `/events` (`?after=&limit=`)
 */
export function sessionRoutes(
  services: StateServices,
  invoke: CapabilityInvoker,
  checkpoints: AutoCheckpoints,
): Router {
  const router = Router();
  const session = (req: Request<{ id: string }>) => callContext(req, { sessionId: req.params.id });

  router.post('/v1/sessions', async (req, res) => {
    res.status(201).json(await openSession(services, callContext(req), bodyOf(req)));
  });
  router.get('/v1/sessions/:id', async (req, res) => {
    res.json(await getSession(services, session(req)));
  });
  router.delete('/v1/sessions/:id', async (req, res) => {
    const context = session(req);
    await checkpoints.beforeEnd(context);
    res.json(await endSession(services, context));
  });

  router.get('/v1/sessions/:id/state', async (req, res) => {
    res.json(await invoke('state.session.list', session(req), queryInput(req)));
  });
  router.delete('/v1/sessions/:id/state', async (req, res) => {
    res.json(await invoke('state.session.clear', session(req), {}));
  });
  router.get('/v1/sessions/:id/state/:key', async (req, res) => {
    res.json(await invoke('state.session.get', session(req), { key: req.params.key }));
  });
  router.put('/v1/sessions/:id/state/:key', async (req, res) => {
    const input = { key: req.params.key, value: requiredValue(req.body) };
    res.json(await invoke('state.session.set', session(req), input));
  });
  router.delete('/v1/sessions/:id/state/:key', async (req, res) => {
    res.json(await invoke('state.session.delete', session(req), { key: req.params.key }));
  });

  router.post('/v1/sessions/:id/messages', async (req, res) => {
    const context = session(req);
    const message = await appendMessage(services, context, bodyOf(req));
    res.status(201).json(message);
    checkpoints.afterMessage(context, message.seq);
  });
  router.get('/v1/sessions/:id/messages', async (req, res) => {
    res.json(await listMessages(services, session(req), queryInput(req)));
  });
  router.post('/v1/sessions/:id/events', async (req, res) => {
    res.status(201).json(await appendEvent(services, session(req), bodyOf(req)));
  });
  router.get('/v1/sessions/:id/events', async (req, res) => {
    res.json(await listEvents(services, session(req), queryInput(req)));
  });
  return router;
}
