import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../logging.ts';
import { errorStatus } from './error-status.ts';

/**
 * The error body of every surface: `{ error: { code, message, recovery, details? } }`.
 * `ApprovalRequired` is no failure but a `202`: its details (`approval_id`, `status`,
 * `capability`) are also the top level of the body, so a client reads them as the answer.
 */
export function errorBody(error: AppError) {
  return {
    ...(error.code === 'ApprovalRequired' ? error.details : {}),
    error: {
      code: error.code,
      message: error.message,
      recovery: error.recovery,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new AppError('RouteNotFound', `no route for ${req.method} ${req.path}`));
}

/** Renders every error as the closed-set body; stacks go to the log, never to callers. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = toAppError(error);
    const status = errorStatus[appError.code];
    // The request's logger carries its traceparent; a failure before it was set has none.
    const base = (req as { log?: Logger }).log ?? logger;
    const log = status >= 500 ? base.error.bind(base) : base.debug.bind(base);
    log({ err: error, code: appError.code, method: req.method, path: req.path }, appError.message);
    // A streamed answer that failed half-way cannot turn into an error: cut it short.
    if (res.headersSent) return void res.destroy();
    res.status(status).json(errorBody(appError));
  };
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  // The router marks its failure to decode a path parameter (`%zz`) with status 400.
  if (error instanceof URIError && (error as { status?: unknown }).status === 400)
    return new AppError('InvalidInput', 'the path has an invalid percent-encoding', { cause: error });
  // body-parser marks its own failures with a `type`; they are the caller's fault.
  const type = (error as { type?: unknown } | undefined)?.type;
  if (type === 'entity.parse.failed')
    return new AppError('InvalidInput', 'request body is not valid JSON', { cause: error });
  if (type === 'entity.too.large')
    return new AppError('PayloadTooLarge', 'request body is over the size limit', { cause: error });
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new AppError('InvalidInput', 'request body encoding is not supported', { cause: error });
  }
  return new AppError('Internal', 'internal error', { cause: error });
}
