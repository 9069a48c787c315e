import { Router } from 'express';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import { AppError } from '../../core/errors.ts';
import { callContext, queryInput } from '../call-context.ts';

/**
 * REST for one agent's persistent state. A key is one path segment, percent-encoded
 * (`encodeURIComponent`), so keys with `/` stay unambiguous:
 * - `GET    /v1/agents/{agent}/state?prefix=&limit=&cursor=`: list
 * - `GET    /v1/agents/{agent}/query?prefix=&limit=&cursor=`: entries with values
 * - `GET    /v1/agents/{agent}/state/{key}?version=`: get
 * - `PUT    /v1/agents/{agent}/state/{key}`: set, the JSON body is the value
 * - `DELETE /v1/agents/{agent}/state/{key}`: delete
 * - `GET    /v1/agents/{agent}/state/{key}/history?limit=`: history
 * Each runs the capability of the same name, so rules, audit and metrics are the same.
 */
export function persistentRoutes(invoke: CapabilityInvoker): Router {
  const router = Router();
  const base = '/v1/agents/:agent';
  router.get(`${base}/state`, async (req, res) => {
    res.json(await invoke('state.persistent.list', callContext(req, req.params), queryInput(req)));
  });
  router.get(`${base}/query`, async (req, res) => {
    res.json(await invoke('state.persistent.query', callContext(req, req.params), queryInput(req)));
  });
  router.get(`${base}/state/:key`, async (req, res) => {
    const input = { ...queryInput(req), key: req.params.key };
    res.json(await invoke('state.persistent.get', callContext(req, req.params), input));
  });
  router.put(`${base}/state/:key`, async (req, res) => {
    const input = { key: req.params.key, value: requiredValue(req.body) };
    res.json(await invoke('state.persistent.set', callContext(req, req.params), input));
  });
  router.delete(`${base}/state/:key`, async (req, res) => {
    res.json(await invoke('state.persistent.delete', callContext(req, req.params), { key: req.params.key }));
  });
  router.get(`${base}/state/:key/history`, async (req, res) => {
    const input = { ...queryInput(req), key: req.params.key };
    res.json(await invoke('state.persistent.history', callContext(req, req.params), input));
  });
  return router;
}

/**
 * The value a PUT carries as its JSON body. Without `Content-Type: application/json`
 * the body is not parsed, and writing `undefined` would be a silent no-op.
 */
export function requiredValue(body: unknown): unknown {
  if (body === undefined) {
    throw new AppError(
      'InvalidInput',
      'the body must be the JSON value to store, sent with Content-Type: application/json',
    );
  }
  return body;
}
