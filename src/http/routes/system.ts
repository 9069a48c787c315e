import { Router } from 'express';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import type { StateServices } from '../../capabilities/state-services.ts';
import { journalInputSchema } from '../../core/briefing/journal.ts';
import { canAccessShared } from '../../core/identity/authorize.ts';
import { parseInput } from '../../core/parse-input.ts';
import { bodyOf, callContext, queryInput } from '../call-context.ts';

/**
 * System snapshots, briefings and the journal (README, Snapshots, briefings and journal):
 * - `POST /v1/snapshots/system`: take one (`state.snapshot.create`), 201
 * - `GET  /v1/snapshots/system`: list, newest first
 * - `GET  /v1/snapshots/system/{id}`: load one
 * - `GET  /v1/briefing?since=&detail_level=`: the calling agent's briefing (`x-agent-id` names another)
 * - `POST /v1/journal`: another system reports a filesystem change, process event or alert
 * The first four run their capabilities, so permission classes, audit and metrics are the same.
 */
export function systemRoutes(services: StateServices, invoke: CapabilityInvoker): Router {
  const router = Router();
  router.post('/v1/snapshots/system', async (req, res) => {
    res.status(201).json(await invoke('state.snapshot.create', callContext(req), bodyOf(req)));
  });
  router.get('/v1/snapshots/system', async (req, res) => {
    res.json(await invoke('state.snapshot.list', callContext(req), queryInput(req)));
  });
  router.get('/v1/snapshots/system/:id', async (req, res) => {
    res.json(await invoke('state.snapshot.load', callContext(req), { snapshot_id: req.params.id }));
  });
  router.get('/v1/briefing', async (req, res) => {
    // `since` stays text, so that `since=1711375200` is judged as a timestamp, not a number.
    const input = {
      ...queryInput(req, ['since']),
      ...(req.query['since'] === undefined ? {} : { since: req.query['since'] }),
    };
    res.json(await invoke('state.briefing.generate', callContext(req), input));
  });
  router.post('/v1/journal', async (req, res) => {
    const input = parseInput(journalInputSchema, bodyOf(req), 'journal entry');
    canAccessShared(req.caller, req.caller.tenant, 'write');
    res.status(201).json(await services.journal(req.caller.tenant).post(input, req.caller.principal));
  });
  return router;
}
