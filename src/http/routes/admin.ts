import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { idSchema } from '../../core/identity/caller.ts';
import { parseInput } from '../../core/parse-input.ts';
import type { Portability } from '../../portability/portability.ts';
import { queryInput } from '../call-context.ts';

/**
 * The admin API of spec/003, for operators only (`Forbidden`, audited, for anyone else):
 * - `GET  /admin/export/{subject}?tenant_id=`: the subject's export document
 * - `POST /admin/import` (`{document, target_subject_id?, target_tenant_id?, preserve_ids?}`)
 */
export function adminRoutes(portability: Portability): Router {
  const router = Router();
  router.get('/admin/export/:subject', async (req, res) => {
    const subject = parseInput(idSchema, req.params.subject, 'subject id');
    const { tenant_id } = parseInput(subjectExportQuerySchema, queryInput(req), 'query');
    res.json(await portability.exportSubject(req.caller, subject, tenant_id));
  });
  router.post('/admin/import', async (req, res) => {
    if (req.body === undefined)
      throw new AppError('InvalidInput', 'the body must be JSON, sent with Content-Type: application/json');
    res.json(await portability.importSubject(req.caller, req.body));
  });
  return router;
}

export const subjectExportQuerySchema = z.strictObject({ tenant_id: idSchema.exactOptional() });
