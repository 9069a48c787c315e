import { AppError } from '../errors.ts';

// The errors of sessions, with the recovery hints the capability spec lists.

/** `SessionNotFound`: the session never existed, was ended, or idled or aged out. */
export function sessionNotFound(sessionId: string): AppError {
  return new AppError(
    'SessionNotFound',
    `session ${JSON.stringify(sessionId.slice(0, 80))} does not exist or has been terminated`,
    { details: { session_id: sessionId } },
  );
}

/** `QuotaExceeded`: `used` bytes are stored, `requested` more would pass `limit`. */
export function sessionQuotaExceeded(used: number, limit: number, requested: number): AppError {
  return new AppError(
    'QuotaExceeded',
    `session state quota of ${limit} bytes exceeded: ${used} used, ${requested} more requested`,
    {
      details: { used, limit, requested },
      recovery: [
        { action: 'delete_unused', description: 'Use state.session.delete to remove unneeded keys.' },
        { action: 'clear', description: 'Use state.session.clear to remove all session state.' },
      ],
    },
  );
}

/** `PayloadTooLarge`: `what` takes `size` bytes, more than `limit`. */
export function payloadTooLarge(what: string, size: number, limit: number): AppError {
  return new AppError('PayloadTooLarge', `${what} is ${size} bytes; the limit is ${limit}`, {
    details: { size_bytes: size, limit_bytes: limit },
  });
}
