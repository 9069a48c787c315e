import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.ts';
import { createLogger } from '../logging.ts';
import type { Readiness } from '../service/readiness.ts';
import { createApp } from './app.ts';

const check = (adapter: string, ok = true) => ({ adapter, ok, latency_ms: 1 });
let ready = true;
const readiness = async (): Promise<Readiness> => ({
  ready,
  store: 'embedded',
  adapters: {
    kv: 'embedded-sqlite',
    blobs: 'embedded-folder',
    bus: 'embedded-memory',
    secrets: 'embedded-env-file',
  },
  checks: {
    kv: check('embedded-sqlite', ready),
    blobs: check('embedded-folder'),
    secrets: check('embedded-env-file'),
  },
});

describe('HTTP app', () => {
  let base: string;
  let close: () => void;

  beforeAll(async () => {
    const echo = Router().post('/echo', (req, res) => void res.json(req.body));
    const app = createApp({ logger: createLogger('silent'), readiness, bodyLimit: '1kb', routes: [echo] });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  it('answers /healthz while the process is up', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200 and the adapters when every port answers, 503 otherwise', async () => {
    ready = true;
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ready',
      store: 'embedded',
      checks: { kv: { adapter: 'embedded-sqlite', ok: true } },
    });
    ready = false;
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unready', checks: { kv: { ok: false } } });
  });

  it('answers malformed JSON with InvalidInput and a recovery hint', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; recovery: unknown[] } };
    expect(body.error.code).toBe('InvalidInput');
    expect(body.error.recovery.length).toBeGreaterThan(0);
  });

  it('answers a body over the limit with PayloadTooLarge', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ big: 'x'.repeat(2048) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PayloadTooLarge');
  });

  it('answers an unknown route with RouteNotFound', async () => {
    const res = await fetch(`${base}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RouteNotFound');
  });
});

describe('request logs', () => {
  it('carry the W3C traceparent Dapr propagates on every line of the request, errors included', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = {
      write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    };
    const failing = Router().post('/fail', (req) => {
      req.log.info('handling');
      throw new AppError('KeyNotFound', 'no such key');
    });
    const app = createApp({ logger: createLogger('debug', destination), readiness, routes: [failing] });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/fail`, {
        method: 'POST',
        headers: { traceparent },
      });
      expect(res.status).toBe(404);
      await new Promise((resolve) => setImmediate(resolve));
      const messages = lines.map((line) => line['msg']);
      expect(messages).toEqual(expect.arrayContaining(['handling', 'no such key', 'request']));
      for (const line of lines) expect(line['traceparent'], JSON.stringify(line)).toBe(traceparent);
    } finally {
      server.close();
    }
  });
});
