import { Router } from 'express';
import { auditQuerySchema, readAudit } from '../../capabilities/audit-query.ts';
import type { StateServices } from '../../capabilities/state-services.ts';
import type { DenialAudit } from '../../core/identity/denial-audit.ts';
import { parseInput } from '../../core/parse-input.ts';
import { queryInput } from '../call-context.ts';

/** `GET /v1/audit?from=&to=&action=`: the tenant's audit trail by time range, for operators. */
export function auditRoutes(services: StateServices, denials: DenialAudit): Router {
  const router = Router();
  router.get('/v1/audit', async (req, res) => {
    const query = parseInput(auditQuerySchema, queryInput(req), 'query');
    res.json(await readAudit(services, denials, req.caller, query));
  });
  return router;
}
