import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { AppError } from '../core/errors.ts';
import { assertStorableJson } from '../core/json.ts';

/**
 * Parses `application/json` bodies (any JSON value, up to `limit`) into `req.body` and
 * refuses with `InvalidInput` what would otherwise be stored other than as sent: bytes
 * that are not UTF-8 (the decoder would turn them into U+FFFD), nesting too deep to
 * validate, and `__proto__` keys (`assertStorableJson`). Other content types leave
 * `req.body` undefined, for the routes to refuse as they see fit. Requests to the paths
 * of `streamed` are left unread: their routes parse the body as it arrives
 * (`streamed-body.ts`), as imports of any size must not be held twice nor capped at `limit`.
 */
export function jsonBody(limit: string, streamed: readonly string[] = []): RequestHandler[] {
  const routesReading = new Set(streamed);
  const parse = express.json({
    limit,
    strict: false,
    verify: (_req, _res, bytes, encoding) => {
      if (encoding === 'utf-8' && !isUtf8(bytes)) {
        throw new AppError('InvalidInput', 'request body is not valid UTF-8');
      }
    },
  });
  return [
    (req, res, next) => (routesReading.has(req.path) ? next() : parse(req, res, next)),
    (req, _res, next) => {
      if (req.body !== undefined) assertStorableJson(req.body, 'request body');
      next();
    },
  ];
}
