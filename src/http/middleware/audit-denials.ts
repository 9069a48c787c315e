import type { ErrorRequestHandler } from 'express';
import { isAppError } from '../../core/errors.ts';
import type { DenialAudit } from '../../core/identity/denial-audit.ts';

/**
 * Writes every `Forbidden` answer to an authenticated request into the caller's audit
 * trail before the error handler renders it: every refused request is audited. The refusal stands
 * whether or not the record could be written; a failed write is logged.
 */
export function auditDenials(denials: DenialAudit): ErrorRequestHandler {
  return async (error: unknown, req, _res, next) => {
    // `caller` is declared as always set, but routes before authentication have none.
    const caller = (req as { caller?: typeof req.caller }).caller;
    if (isAppError(error, 'Forbidden') && caller !== undefined) {
      const action = `${req.method} ${req.path}`.slice(0, 600);
      await denials.record(caller, action, error.message).catch((auditError: unknown) => {
        req.log.warn({ err: auditError, action }, 'cannot write the audit record of a refused request');
      });
    }
    next(error);
  };
}
