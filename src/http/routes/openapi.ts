import { Router } from 'express';
import { buildOpenApiDocument } from '../openapi.ts';

/** `GET /openapi.json`: built once, on the first request. */
export function openApiRoutes(): Router {
  const router = Router();
  let document: Record<string, unknown> | undefined;
  router.get('/openapi.json', (_req, res) => {
    document ??= buildOpenApiDocument();
    res.json(document);
  });
  return router;
}
