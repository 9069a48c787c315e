import express, { type Express, type Router } from 'express';
import type { Logger } from '../logging.ts';
import type { Readiness } from '../service/readiness.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { requestLogger } from './middleware/request-logger.ts';
import { healthRoutes } from './routes/health.ts';

export interface AppOptions {
  readonly logger: Logger;
  readonly readiness: () => Promise<Readiness>;
  /** Largest request body accepted. @default '5mb' (a maximal value plus its envelope) */
  readonly bodyLimit?: string;
  /** Resource routers, mounted after health and before the 404 handler. */
  readonly routes?: readonly Router[];
}

/** The worker's HTTP surface. Routes translate to core calls and nothing more. */
export function createApp({ logger, readiness, bodyLimit = '5mb', routes = [] }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLogger(logger));
  app.use(express.json({ limit: bodyLimit, strict: false }));
  app.use(healthRoutes(readiness));
  for (const router of routes) app.use(router);
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
