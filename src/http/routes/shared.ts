import { Router, type Request } from 'express';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import { AppError } from '../../core/errors.ts';
import { singleHeader } from '../../core/identity/policy.ts';
import { callContext, queryInput } from '../call-context.ts';
import { requiredValue } from './persistent.ts';

/**
 * REST for the tenant's shared state, with HTTP's own optimistic locking: `GET`
 * answers the version as the `ETag`, `PUT` needs it back in `If-Match` (`0` creates a
 * key) and `DELETE` honours it when sent; a stale one is `409 VersionConflict` with the
 * current version in the body.
 * - `GET /v1/shared/keys?prefix=&limit=&cursor=`: list
 * - `GET` / `PUT` / `DELETE /v1/shared/keys/{key}` (key percent-encoded, one segment)
 * Live changes stream from `GET /v1/shared/watch` (`watch.ts`).
 */
export function sharedRoutes(invoke: CapabilityInvoker): Router {
  const router = Router();
  router.get('/v1/shared/keys', async (req, res) => {
    res.json(await invoke('state.shared.list', callContext(req), queryInput(req)));
  });
  router.get('/v1/shared/keys/:key', async (req, res) => {
    const result = (await invoke('state.shared.get', callContext(req), { key: req.params.key })) as {
      version: number;
    };
    if (result.version > 0) res.set('ETag', `"${result.version}"`);
    res.json(result);
  });
  router.put('/v1/shared/keys/:key', async (req, res) => {
    const input = {
      key: req.params.key,
      value: requiredValue(req.body),
      expected_version: ifMatchVersion(req),
    };
    const result = (await invoke('state.shared.set', callContext(req), input)) as { version: number };
    res.set('ETag', `"${result.version}"`).json(result);
  });
  router.delete('/v1/shared/keys/:key', async (req, res) => {
    // If-Match is optional here: without it (or with `*`) the key goes whatever its version.
    const ifMatch = singleHeader(req.headers, 'if-match');
    const input =
      ifMatch === undefined || ifMatch.trim() === '*'
        ? { key: req.params.key }
        : { key: req.params.key, expected_version: ifMatchVersion(req) };
    res.json(await invoke('state.shared.delete', callContext(req), input));
  });
  return router;
}

/** The version `If-Match` carries: `"3"`, `W/"3"` or `3`; `0` (or `"0"`) creates. */
function ifMatchVersion(req: Request): number {
  const header = singleHeader(req.headers, 'if-match');
  const match = header === undefined ? null : /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (match?.[1] === undefined) {
    throw new AppError(
      'InvalidInput',
      `${req.method} on shared state needs If-Match with the version read (the ETag of GET)${req.method === 'PUT' ? ', or 0 to create the key' : ''}`,
    );
  }
  return Number(match[1]);
}
