import { Router, type Request, type RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from '../core/errors.ts';

/**
 * Operations metrics in the Prometheus text format. Every series is labelled only by
 * values from closed sets (capability names, error codes, HTTP methods, route
 * templates, statuses), never by ids, keys or raw URLs, so cardinality stays bounded.
 */
export interface Metrics {
  /**
   * Counts and times one capability call (RPC or REST), labelled by capability name and
   * outcome ('ok' or the ErrorCode). Also feeds the CAS-conflict (VersionConflict),
   * quota-rejection (QuotaExceeded) and store-error (DatabaseError, IoError, Unavailable)
   * counters.
   *
   * `name` must be a known capability name such as `state.persistent.get`, never caller
   * input: a malformed name, or any name past the first {@link maxCapabilities}, is
   * recorded as `_other` rather than minting a new series.
   */
  observeCapability(name: string, seconds: number, outcome: 'ok' | ErrorCode): void;
  /**
   * Sets the time of the last successful backup or verification of `scope` (`full` or
   * `agent:{name}`), labelled by the kind of scope (`full` or `agent`): agent names are
   * ids, which no label carries.
   */
  observeBackup(kind: 'backup' | 'verify', scope: string, at: Date): void;
  /**
   * Express middleware counting and timing every HTTP request by method, route template
   * (the matched route's path under its router's mount path, or 'unmatched' — never the
   * raw URL, which would explode cardinality) and status. Mount it first. Mount paths
   * must be static: a router mounted at `/v1/agents/:agent` would put agent ids in the label.
   */
  httpMiddleware(): RequestHandler;
  /** GET /metrics in the Prometheus text format (registry.contentType). */
  routes(): Router;
  readonly registry: Registry;
}

export interface MetricsOptions {
  /** Also export the default Node process metrics (CPU, memory, event loop, GC). @default true */
  readonly collectDefault?: boolean;
}

/** More distinct capability names than the spec has (24), so only a wiring bug reaches it. */
export const maxCapabilities = 64;

/** A dotted lower-case name as the spec spells capabilities: `state.shared.set`. */
const capabilityName = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,7}$/;
const otherCapability = '_other';

/** A counter of the capability calls that failed with one of `codes`, labelled by capability. */
interface FailureCounterSpec {
  readonly name: string;
  readonly help: string;
  readonly codes: readonly [ErrorCode, ...ErrorCode[]];
  /** Also labels by the code, when `codes` are several. */
  readonly byCode: boolean;
}

/** Failures an operator alerts on, each its own series so that no alert matches outcomes by regex. */
const failureCounterSpecs: readonly FailureCounterSpec[] = [
  {
    name: 'agentstate_cas_conflicts_total',
    help: 'Writes rejected because the expected version was not the current one (VersionConflict).',
    codes: ['VersionConflict'],
    byCode: false,
  },
  {
    name: 'agentstate_quota_rejections_total',
    help: 'Writes rejected by a storage quota (QuotaExceeded).',
    codes: ['QuotaExceeded'],
    byCode: false,
  },
  {
    // Codes that mean the backing store failed, as opposed to the caller.
    name: 'agentstate_store_errors_total',
    help: 'Capability calls failed by the backing store (DatabaseError, IoError, Unavailable).',
    codes: ['DatabaseError', 'IoError', 'Unavailable'],
    byCode: true,
  },
];

interface FailureCounter {
  /** Starts the capability's series at 0, so `rate()` sees its first failure. */
  start(capability: string): void;
  /** Counts the call if `outcome` is one of the counter's codes. */
  observe(capability: string, outcome: 'ok' | ErrorCode): void;
}

function createFailureCounter(spec: FailureCounterSpec, registers: Registry[]): FailureCounter {
  const counter = new Counter({
    name: spec.name,
    help: spec.help,
    labelNames: spec.byCode ? ['capability', 'code'] : ['capability'],
    registers,
  });
  const labels = (capability: string, code: ErrorCode) =>
    spec.byCode ? { capability, code } : { capability };
  const codes: ReadonlySet<'ok' | ErrorCode> = new Set(spec.codes);
  return {
    start(capability) {
      for (const code of spec.byCode ? spec.codes : [spec.codes[0]]) counter.inc(labels(capability, code), 0);
    },
    observe(capability, outcome) {
      if (outcome !== 'ok' && codes.has(outcome)) counter.inc(labels(capability, outcome));
    },
  };
}

/**
 * From a sub-millisecond embedded read to a multi-second backup part through the sidecar;
 * the 5-250 ms range, where Dapr state store round trips fall, is the densest.
 */
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Creates metrics on a private registry, so tests and several workers in one process never collide. */
export function createMetrics({ collectDefault = true }: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (collectDefault) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const capabilityCalls = new Counter({
    name: 'agentstate_capability_calls_total',
    help: 'Capability calls (RPC or REST) by capability and outcome (ok or the error code).',
    labelNames: ['capability', 'outcome'] as const,
    registers,
  });
  const capabilityDuration = new Histogram({
    name: 'agentstate_capability_duration_seconds',
    help: 'Duration of capability calls, whatever their outcome.',
    labelNames: ['capability'] as const,
    buckets: durationBuckets,
    registers,
  });
  const failureCounters = failureCounterSpecs.map((spec) => createFailureCounter(spec, registers));
  const httpRequests = new Counter({
    name: 'agentstate_http_requests_total',
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'agentstate_http_request_duration_seconds',
    help: 'Duration of HTTP requests until the response is sent, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: durationBuckets,
    registers,
  });

  const lastBackup = new Gauge({
    name: 'agentstate_backup_last_success_timestamp_seconds',
    help: 'Unix time of the last successful backup this worker made, by kind of scope (full or agent).',
    labelNames: ['scope'] as const,
    registers,
  });
  const lastVerify = new Gauge({
    name: 'agentstate_backup_verify_last_success_timestamp_seconds',
    help: 'Unix time of the last successful backup verification this worker ran, by kind of scope (full or agent).',
    labelNames: ['scope'] as const,
    registers,
  });

  const known = new Set<string>();
  /** Bounds the capability label; a new capability's failure counters start at 0 so `rate()` works. */
  function capabilityLabel(name: string): string {
    if (known.has(name)) return name;
    if (!capabilityName.test(name) || known.size >= maxCapabilities) return otherCapability;
    known.add(name);
    for (const failures of failureCounters) failures.start(name);
    return name;
  }

  return {
    registry,
    observeCapability(name, seconds, outcome) {
      const capability = capabilityLabel(name);
      capabilityCalls.inc({ capability, outcome });
      capabilityDuration.observe({ capability }, seconds);
      for (const failures of failureCounters) failures.observe(capability, outcome);
    },
    observeBackup(kind, scope, at) {
      const gauge = kind === 'backup' ? lastBackup : lastVerify;
      gauge.set({ scope: scope === 'full' ? 'full' : 'agent' }, at.getTime() / 1000);
    },
    httpMiddleware() {
      return (req, res, next) => {
        const end = httpDuration.startTimer();
        const route = trackRouteTemplate(req);
        res.on('finish', () => {
          // Node's HTTP parser accepts only the methods of `http.METHODS`, so `method` is bounded.
          const labels = { method: req.method, route: route(), status: String(res.statusCode) };
          httpRequests.inc(labels);
          end(labels);
        });
        next();
      };
    },
    routes() {
      return Router().get('/metrics', async (_req, res) => {
        const body = await registry.metrics();
        res.type(registry.contentType).send(body);
      });
    },
  };
}

/**
 * Records the route template each time the router matches a route (it assigns
 * `req.route`), while `req.baseUrl` is still that router's mount path: once a handler
 * calls `next(error)`, the router restores the parent's `baseUrl` before the error
 * handler answers, and a template read then would lose its prefix.
 */
function trackRouteTemplate(req: Request): () => string {
  let route: unknown;
  let template = 'unmatched';
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: unknown) {
      route = value;
      template = routeTemplate(req.baseUrl, value);
    },
  });
  return () => template;
}

function routeTemplate(baseUrl: string, route: unknown): string {
  const template = pathLabel((route as { path?: unknown } | undefined)?.path);
  if (template === undefined) return 'unmatched';
  return baseUrl !== '' && template === '/' ? baseUrl : baseUrl + template;
}

/** Route paths are strings here; express also takes regexps and arrays, still code, so bounded. */
function pathLabel(path: unknown): string | undefined {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return path.toString();
  if (Array.isArray(path)) return path.map(pathLabel).join(',');
  return undefined;
}
