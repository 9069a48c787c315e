import type { AddressInfo } from 'node:net';
import { Router, type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { createLogger } from '../../logging.ts';
import type { Readiness } from '../../service/readiness.ts';
import { createApp } from '../app.ts';
import { createMetrics, type Metrics } from '../metrics.ts';

// An authentication stand-in: `x-refuse` refuses the request, anything else is a caller.
let calls = 0;
const authenticate: RequestHandler = (req, _res, next) => {
  calls++;
  if (req.headers['x-refuse'] !== undefined) return next(new AppError('Forbidden', 'refused'));
  req.caller = { tenant: 't', principal: 'a', roles: ['agent'], via: 'token' };
  return next();
};

describe('authentication of resource routes', () => {
  let base: string;
  let metrics: Metrics;
  let close: () => void;

  beforeAll(async () => {
    metrics = createMetrics({ collectDefault: false });
    const things = Router().get(
      '/v1/things/:id',
      (req, res) => void res.json({ caller: req.caller.principal }),
    );
    const app = createApp({
      logger: createLogger('silent'),
      readiness: async () => ({}) as Readiness,
      authenticate,
      metrics,
      routes: [things],
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  const requests = async (labels: string) => {
    const text = await metrics.registry.getSingleMetricAsString('agentstate_http_requests_total');
    return Number(
      text
        .split('\n')
        .find((line) => line.includes(labels))
        ?.split(' ')[1] ?? 0,
    );
  };

  it('labels a refused request with the route it asked for, not "unmatched"', async () => {
    const res = await fetch(`${base}/v1/things/1`, { headers: { 'x-refuse': '1' } });
    expect(res.status).toBe(403);
    expect(await requests('method="GET",route="/v1/things/:id",status="403"')).toBe(1);
  });

  it('authenticates an accepted request once, before its handler', async () => {
    const before = calls;
    const res = await fetch(`${base}/v1/things/1`);
    expect(await res.json()).toEqual({ caller: 'a' });
    expect(calls - before).toBe(1);
  });

  it('still refuses a request that matches no route, or no method of one, before the 404', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['PUT', '/v1/things/1'],
    ] as const) {
      expect((await fetch(`${base}${path}`, { method, headers: { 'x-refuse': '1' } })).status).toBe(403);
      expect((await fetch(`${base}${path}`, { method })).status).toBe(404);
    }
    expect(await requests('method="PUT",route="unmatched",status="403"')).toBe(1);
  });
});
