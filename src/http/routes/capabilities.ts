import { Router } from 'express';
import { capabilityCatalogue } from '../../capabilities/catalogue.ts';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import { bodyOf, callContext } from '../call-context.ts';

/**
 * The capability RPC (README, HTTP API: Capabilities): `POST /v1/capabilities/{name}` takes the
 * spec's inputs as the JSON body and answers its outputs; `GET /v1/capabilities`
 * describes every capability with generated JSON Schemas, for gateways to expose as tools.
 */
export function capabilityRoutes(invoke: CapabilityInvoker): Router {
  const router = Router();
  router.get('/v1/capabilities', (_req, res) => {
    res.json({ capabilities: capabilityCatalogue });
  });
  router.post('/v1/capabilities/:name', async (req, res) => {
    res.json(await invoke(req.params.name, callContext(req), bodyOf(req)));
  });
  return router;
}
