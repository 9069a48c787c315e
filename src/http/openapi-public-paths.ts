// The routes of /openapi.json that answer without credentials (`security: []`): the
// probes a kubelet calls, the Prometheus scrape and the document itself.

const open = { security: [] };

const readiness = {
  type: 'object',
  required: ['status', 'ready', 'store', 'adapters', 'checks'],
  properties: {
    status: { enum: ['ready', 'unready'] },
    ready: { type: 'boolean' },
    store: { type: 'string', description: 'embedded or dapr' },
    adapters: {
      type: 'object',
      description: 'The adapter serving each port (kv, blobs, bus, secrets).',
      additionalProperties: { type: 'string' },
    },
    checks: {
      type: 'object',
      description: 'One probe per store (kv, blobs, secrets) with its latency, and its error if it failed.',
      additionalProperties: {
        type: 'object',
        required: ['adapter', 'ok', 'latency_ms'],
        properties: {
          adapter: { type: 'string' },
          ok: { type: 'boolean' },
          latency_ms: { type: 'number' },
          error: { type: 'string' },
        },
      },
    },
  },
};

const jsonContent = (schema: unknown) => ({ 'application/json': { schema } });

export const publicPaths: Record<string, Record<string, unknown>> = {
  '/healthz': {
    get: {
      ...open,
      summary: 'Liveness: the process answers',
      responses: {
        '200': {
          description: 'Alive',
          content: jsonContent({
            type: 'object',
            required: ['status'],
            properties: { status: { const: 'ok' } },
          }),
        },
      },
    },
  },
  '/readyz': {
    get: {
      ...open,
      summary: 'Readiness: every store answers a real round trip',
      responses: {
        '200': { description: 'Ready', content: jsonContent(readiness) },
        '503': { description: 'A store did not answer', content: jsonContent(readiness) },
      },
    },
  },
  '/metrics': {
    get: {
      ...open,
      summary: 'Operations metrics in the Prometheus text format',
      responses: {
        '200': { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  },
  '/openapi.json': {
    get: {
      ...open,
      summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1', content: jsonContent({ type: 'object' }) } },
    },
  },
};
