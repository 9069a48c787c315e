import { Router } from 'express';
import { z } from 'zod';
import { idSchema } from '../../core/identity/caller.ts';
import { parseInput } from '../../core/parse-input.ts';
import type { Portability } from '../../portability/portability.ts';
import { queryInput } from '../call-context.ts';
import { sendJsonText } from '../json-text.ts';
import { streamedJsonBody } from '../streamed-body.ts';

/** The import route, whose body is read as it arrives (`streamed-body.ts`). */
export const IMPORT_PATH = '/admin/import';

/**
 * The admin API of spec/003 (import bodies up to `importMaxBytes`), for operators only (`Forbidden`, audited, for anyone else):
 * - `GET  /admin/export/{subject}?tenant_id=`: the subject's export document
 * - `POST /admin/import` (`{document, target_subject_id?, target_tenant_id?, preserve_ids?}`)
 */
export function adminRoutes(portability: Portability, importMaxBytes: number): Router {
  const router = Router();
  router.get('/admin/export/:subject', async (req, res) => {
    const subject = parseInput(idSchema, req.params.subject, 'subject id');
    const { tenant_id } = parseInput(subjectExportQuerySchema, queryInput(req), 'query');
    const text = await portability.exportSubject(req.caller, subject, tenant_id);
    await sendJsonText(res, text);
  });
  router.post(IMPORT_PATH, async (req, res) => {
    res.json(await portability.importSubject(req.caller, await streamedJsonBody(req, importMaxBytes)));
  });
  return router;
}

export const subjectExportQuerySchema = z.strictObject({ tenant_id: idSchema.exactOptional() });
