import type { AddressInfo } from 'node:net';
import express, { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.ts';
import { createLogger } from '../logging.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { createMetrics, maxCapabilities, type Metrics } from './metrics.ts';

/** The value of the one sample of `name` whose labels include `labels`, from a scrape. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = text
    .split('\n')
    .map((line) => /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line))
    .filter((m) => m !== null && m[1] === name)
    .filter((m) => {
      const actual: Record<string, string | undefined> = Object.fromEntries(
        [...(m![2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]),
      );
      return Object.entries(labels).every(([k, v]) => actual[k] === v);
    });
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0] === undefined ? undefined : Number(found[0]![3]);
}

async function listen(app: express.Express): Promise<{ base: string; close: () => void }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

describe('metrics', () => {
  let metrics: Metrics;
  let base: string;
  let close: () => void;
  const scrape = async () => (await fetch(`${base}/metrics`)).text();

  beforeAll(async () => {
    metrics = createMetrics();
    // Mounted under /v1, as a resource router may be: the label must keep the prefix.
    const state = Router().get('/agents/:agent/state/:key', (req, res, next) => {
      if (req.params.key === 'stale') next(new AppError('VersionConflict', 'version moved on'));
      else res.json({ value: 1 });
    });
    const app = express();
    app.use(metrics.httpMiddleware());
    app.use(metrics.routes());
    app.use('/v1', state);
    app.use(notFoundHandler());
    app.use(errorHandler(createLogger('silent')));
    ({ base, close } = await listen(app));
  });
  afterAll(() => close());

  it('sets the last backup and verification times by kind of scope, never by agent name', async () => {
    metrics.observeBackup('backup', 'agent:research-bot', new Date('2030-01-01T00:00:00Z'));
    metrics.observeBackup('backup', 'full', new Date('2030-01-02T00:00:00Z'));
    metrics.observeBackup('verify', 'full', new Date('2030-01-03T00:00:00Z'));
    const text = await scrape();
    expect(sample(text, 'agentstate_backup_last_success_timestamp_seconds', { scope: 'agent' })).toBe(
      1893456000,
    );
    expect(sample(text, 'agentstate_backup_last_success_timestamp_seconds', { scope: 'full' })).toBe(
      1893542400,
    );
    expect(sample(text, 'agentstate_backup_verify_last_success_timestamp_seconds', { scope: 'full' })).toBe(
      1893628800,
    );
    expect(text).not.toContain('research-bot');
  });

  it('serves /metrics in the Prometheus text format, with the Node process metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    expect(body).toContain('# TYPE agentstate_capability_calls_total counter');
    expect(body).toContain('# TYPE agentstate_http_request_duration_seconds histogram');
    expect(sample(body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts and times capability calls, CAS conflicts, quota rejections and store errors', async () => {
    metrics.observeCapability('state.persistent.get', 0.004, 'ok');
    metrics.observeCapability('state.persistent.get', 0.2, 'ok');
    metrics.observeCapability('state.persistent.get', 0.03, 'DatabaseError');
    metrics.observeCapability('state.persistent.get', 0.001, 'KeyNotFound');
    metrics.observeCapability('state.shared.set', 0.01, 'VersionConflict');
    metrics.observeCapability('state.persistent.set', 0.01, 'QuotaExceeded');
    const body = await scrape();

    const calls = (capability: string, outcome: string) =>
      sample(body, 'agentstate_capability_calls_total', { capability, outcome });
    expect(calls('state.persistent.get', 'ok')).toBe(2);
    expect(calls('state.persistent.get', 'DatabaseError')).toBe(1);
    expect(calls('state.persistent.get', 'KeyNotFound')).toBe(1);
    expect(calls('state.shared.set', 'VersionConflict')).toBe(1);
    expect(calls('state.persistent.set', 'QuotaExceeded')).toBe(1);

    const get = { capability: 'state.persistent.get' };
    expect(sample(body, 'agentstate_capability_duration_seconds_count', get)).toBe(4);
    expect(sample(body, 'agentstate_capability_duration_seconds_sum', get)).toBeCloseTo(0.235);
    expect(sample(body, 'agentstate_capability_duration_seconds_bucket', { ...get, le: '0.005' })).toBe(2);

    expect(sample(body, 'agentstate_cas_conflicts_total', { capability: 'state.shared.set' })).toBe(1);
    expect(sample(body, 'agentstate_quota_rejections_total', { capability: 'state.persistent.set' })).toBe(1);
    expect(sample(body, 'agentstate_store_errors_total', { ...get, code: 'DatabaseError' })).toBe(1);
    // A capability's failure counters exist from its first call, so rate() sees the first failure.
    expect(sample(body, 'agentstate_cas_conflicts_total', get)).toBe(0);
    expect(sample(body, 'agentstate_store_errors_total', { ...get, code: 'IoError' })).toBe(0);
    expect(sample(body, 'agentstate_store_errors_total', { ...get, code: 'KeyNotFound' })).toBeUndefined();
  });

  it('labels requests by route template, never by the raw path', async () => {
    expect((await fetch(`${base}/v1/agents/ada/state/notes`)).status).toBe(200);
    expect((await fetch(`${base}/v1/agents/bob/state/plan`)).status).toBe(200);
    // An error answered by the app's error handler, after the router restored req.baseUrl.
    expect((await fetch(`${base}/v1/agents/ada/state/stale`)).status).toBe(409);
    const body = await scrape();

    const route = '/v1/agents/:agent/state/:key';
    expect(sample(body, 'agentstate_http_requests_total', { method: 'GET', route, status: '200' })).toBe(2);
    expect(sample(body, 'agentstate_http_requests_total', { method: 'GET', route, status: '409' })).toBe(1);
    const ok = { method: 'GET', route, status: '200' };
    expect(sample(body, 'agentstate_http_request_duration_seconds_count', ok)).toBe(2);
    expect(body).not.toMatch(/ada|bob|notes|plan|stale/);
  });

  it("labels requests that match no route 'unmatched'", async () => {
    expect((await fetch(`${base}/v1/agents/ada/nothing-here`)).status).toBe(404);
    expect((await fetch(`${base}/random/c0ffee`)).status).toBe(404);
    const body = await scrape();
    const labels = { method: 'GET', route: 'unmatched', status: '404' };
    expect(sample(body, 'agentstate_http_requests_total', labels)).toBe(2);
    expect(body).not.toMatch(/nothing-here|c0ffee/);
  });

  it('keeps the capability label bounded when given something other than a known name', async () => {
    const bounded = createMetrics({ collectDefault: false });
    bounded.observeCapability('state.session.get', 0.001, 'ok');
    bounded.observeCapability('/v1/agents/ada/state/notes', 0.001, 'ok');
    bounded.observeCapability('State.Session.Get', 0.001, 'ok');
    for (let i = 0; i < maxCapabilities + 10; i++) bounded.observeCapability(`made.up${i}`, 0.001, 'ok');
    const body = await bounded.registry.metrics();

    expect(sample(body, 'agentstate_capability_calls_total', { capability: 'state.session.get' })).toBe(1);
    expect(body).not.toContain('/v1/agents');
    expect(body).not.toContain('State.Session.Get');
    const series = body.split('\n').filter((l) => l.startsWith('agentstate_capability_calls_total{'));
    expect(series).toHaveLength(maxCapabilities + 1);
    // The two malformed names, and the 11 made-up names past the cap (state.session.get took a slot).
    expect(sample(body, 'agentstate_capability_calls_total', { capability: '_other' })).toBe(2 + 11);
  });

  it('gives every createMetrics() its own registry, so two in one process do not collide', async () => {
    const first = createMetrics();
    const second = createMetrics();
    expect(first.registry).not.toBe(second.registry);
    first.observeCapability('state.shared.get', 0.002, 'ok');
    const calls = { capability: 'state.shared.get', outcome: 'ok' };
    expect(sample(await first.registry.metrics(), 'agentstate_capability_calls_total', calls)).toBe(1);
    expect(
      sample(await second.registry.metrics(), 'agentstate_capability_calls_total', calls),
    ).toBeUndefined();
    expect(sample(await second.registry.metrics(), 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(await createMetrics({ collectDefault: false }).registry.metrics()).not.toContain('process_');
  });
});
