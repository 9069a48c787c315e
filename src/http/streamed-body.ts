import type { Request } from 'express';
import { AppError } from '../core/errors.ts';
import { assertStorableJson } from '../core/json.ts';
import { parseJsonStream } from '../portability/json-stream.ts';

/**
 * The JSON body of a route that `jsonBody` leaves unread (`AppOptions.streamedBodies`),
 * parsed as it arrives (`parseJsonStream`): held once, as its value, up to `maxBytes`.
 * It is refused, as every JSON body is, unless sent as `application/json`, or when it
 * could not be stored as sent (`assertStorableJson`).
 */
export async function streamedJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  if (!req.is('application/json')) {
    const type = req.headers['content-type'] ?? 'none';
    throw new AppError(
      'InvalidInput',
      `the body must be JSON sent with Content-Type: application/json (it was sent as ${JSON.stringify(type.slice(0, 80))})`,
    );
  }
  const value = await parseJsonStream(req, { what: 'the request body', maxBytes });
  assertStorableJson(value, 'request body');
  return value;
}
