import express, { type Express, type RequestHandler, type Router } from 'express';
import type { DenialAudit } from '../core/identity/denial-audit.ts';
import type { Logger } from '../logging.ts';
import type { Readiness } from '../service/readiness.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { jsonBody } from './json-body.ts';
import type { Metrics } from './metrics.ts';
import { auditDenials } from './middleware/audit-denials.ts';
import { authenticateRoutes } from './middleware/route-authentication.ts';
import { requestLogger } from './middleware/request-logger.ts';
import { healthRoutes } from './routes/health.ts';
import { openApiRoutes } from './routes/openapi.ts';

export interface AppOptions {
  readonly logger: Logger;
  readonly readiness: () => Promise<Readiness>;
  /** Largest request body accepted. @default '5mb' (a maximal value plus its envelope) */
  readonly bodyLimit?: string;
  /** Paths whose routes read their JSON body themselves, streamed and without `bodyLimit`. */
  readonly streamedBodies?: readonly string[];
  /** Sets `req.caller` or fails; every route in `routes` runs after it. */
  readonly authenticate?: RequestHandler;
  /** Where refusals of authenticated requests are recorded. */
  readonly denials?: DenialAudit;
  readonly metrics?: Metrics;
  /** Resource routers, mounted after authentication and before the 404 handler. */
  readonly routes?: readonly Router[];
}

/**
 * The worker's HTTP surface. Routes translate to core calls and nothing more. Probes,
 * `/metrics` and `/openapi.json` answer without credentials (a kubelet or Prometheus
 * has none, and the API description is no secret); everything else needs them.
 */
export function createApp(options: AppOptions): Express {
  const {
    logger,
    readiness,
    bodyLimit = '5mb',
    streamedBodies = [],
    authenticate,
    denials,
    metrics,
    routes = [],
  } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Hashing every body for a weak ETag cost more per get than the get's own work, and
  // no client revalidates API answers; shared state sets its own ETag (the version).
  app.set('etag', false);
  app.use(requestLogger(logger));
  if (metrics !== undefined) app.use(metrics.httpMiddleware());
  app.use(jsonBody(bodyLimit, streamedBodies));
  app.use(healthRoutes(readiness));
  if (metrics !== undefined) app.use(metrics.routes());
  app.use(openApiRoutes());
  if (authenticate !== undefined) app.use(authenticateRoutes(routes, authenticate));
  for (const router of routes) app.use(router);
  app.use(notFoundHandler());
  if (denials !== undefined) app.use(auditDenials(denials));
  app.use(errorHandler(logger));
  return app;
}
