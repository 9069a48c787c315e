import type { RequestHandler } from 'express';
import type { Logger } from '../../logging.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's logger, carrying the W3C traceparent Dapr propagates. */
    log: Logger;
  }
}

/** One log line per request; probes are logged at debug so they do not drown the rest. */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const traceparent = req.get('traceparent');
    req.log = traceparent === undefined ? logger : logger.child({ traceparent });
    const started = performance.now();
    res.on('finish', () => {
      const fields = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      };
      const probe = req.path === '/healthz' || req.path === '/readyz';
      if (probe) req.log.debug(fields, 'request');
      else req.log.info(fields, 'request');
    });
    next();
  };
}
