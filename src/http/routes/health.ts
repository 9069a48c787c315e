import { Router } from 'express';
import type { Readiness } from '../../service/readiness.ts';

/** `/healthz`: the process answers. `/readyz`: every port answers (see checkReadiness). */
export function healthRoutes(readiness: () => Promise<Readiness>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const result = await readiness();
    res.status(result.ready ? 200 : 503).json({ status: result.ready ? 'ready' : 'unready', ...result });
  });
  return router;
}
