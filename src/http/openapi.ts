import { z } from 'zod';
import type { Capability, PermissionClass } from '../capabilities/capability.ts';
import { capabilities, findCapability } from '../capabilities/registry.ts';
import { openSessionRequestSchema } from '../capabilities/session-lifecycle.ts';
import { ErrorCode } from '../core/errors.ts';
import {
  appendEventInputSchema,
  appendMessageInputSchema,
  endSessionResultSchema,
  eventPageSchema,
  messagePageSchema,
  messageSchema,
  sessionEventSchema,
  sessionInfoSchema,
} from '../core/sessions/session-schemas.ts';
import {
  inboxAckInputSchema,
  inboxAckResultSchema,
  inboxPageSchema,
  watchedChangeSchema,
} from '../core/watch/watch-schemas.ts';
import { errorStatus } from './error-status.ts';
import { backupOperations } from './backup-openapi.ts';
import { approvalOperations } from './approvals-openapi.ts';
import { mcpPath } from './mcp/mcp-openapi.ts';
import { portabilityOperations } from './portability-openapi.ts';
import { threadOperations } from './threads-openapi.ts';
import { agentHeader, headerParameters, sessionHeader } from './openapi-headers.ts';
import { publicPaths } from './openapi-public-paths.ts';
import { createSchemaComponents, type SchemaComponents } from './openapi-schemas.ts';

// The OpenAPI 3.1 document of /openapi.json, generated from the zod schemas every
// surface parses and answers with, so it cannot drift from the code.

// An `ApprovalRequired` answer (202) also carries the pending approval at the top level.
const errorBodySchema = z.object({
  approval_id: z.string().optional(),
  status: z.literal('pending').optional(),
  capability: z.string().optional(),
  error: z.object({
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    recovery: z.array(z.object({ action: z.string(), description: z.string() })),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

type Method = 'get' | 'put' | 'post' | 'delete';

/** One REST operation: a capability's, or its own schemas. */
export interface Operation {
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly capability?: string;
  readonly body?: z.ZodType;
  readonly response?: z.ZodType;
  readonly status?: 200 | 201;
  readonly query?: readonly string[];
  /** The query parameters as the route parses them, when it has its own schema. */
  readonly querySchema?: z.ZodObject;
  /** A `text/event-stream` whose events carry this as `data`. */
  readonly stream?: z.ZodType;
  /** The body is bytes, sent as `application/octet-stream`. */
  readonly binaryBody?: true;
  /** The answer is bytes, sent as `application/octet-stream`. */
  readonly binaryResponse?: true;
}

const keyPath = 'The key, percent-encoded as one path segment.';

const operations: readonly Operation[] = [
  {
    method: 'post',
    path: '/v1/sessions',
    summary: 'Open a session',
    body: openSessionRequestSchema,
    response: sessionInfoSchema,
    status: 201,
  },
  { method: 'get', path: '/v1/sessions/{id}', summary: 'Read a live session', response: sessionInfoSchema },
  {
    method: 'delete',
    path: '/v1/sessions/{id}',
    summary: 'End a session and destroy its key-values',
    response: endSessionResultSchema,
  },
  {
    method: 'get',
    path: '/v1/sessions/{id}/state',
    summary: 'List session keys',
    capability: 'state.session.list',
    query: ['prefix', 'limit', 'cursor'],
  },
  {
    method: 'delete',
    path: '/v1/sessions/{id}/state',
    summary: 'Clear session state',
    capability: 'state.session.clear',
  },
  {
    method: 'get',
    path: '/v1/sessions/{id}/state/{key}',
    summary: 'Read a session key',
    capability: 'state.session.get',
  },
  {
    method: 'put',
    path: '/v1/sessions/{id}/state/{key}',
    summary: 'Write a session key (body: the JSON value)',
    capability: 'state.session.set',
  },
  {
    method: 'delete',
    path: '/v1/sessions/{id}/state/{key}',
    summary: 'Delete a session key',
    capability: 'state.session.delete',
  },
  {
    method: 'post',
    path: '/v1/sessions/{id}/messages',
    summary: 'Append a message',
    body: appendMessageInputSchema,
    response: messageSchema,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/sessions/{id}/messages',
    summary: 'Read messages',
    response: messagePageSchema,
    query: ['after', 'limit'],
  },
  {
    method: 'post',
    path: '/v1/sessions/{id}/events',
    summary: 'Append an event',
    body: appendEventInputSchema,
    response: sessionEventSchema,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/sessions/{id}/events',
    summary: 'Read events',
    response: eventPageSchema,
    query: ['after', 'limit'],
  },
  {
    method: 'get',
    path: '/v1/agents/{agent}/state',
    summary: 'List persistent keys',
    capability: 'state.persistent.list',
    query: ['prefix', 'limit', 'cursor'],
  },
  {
    method: 'get',
    path: '/v1/agents/{agent}/query',
    summary: 'Query persistent entries with values',
    capability: 'state.persistent.query',
    query: ['prefix', 'limit', 'cursor'],
  },
  {
    method: 'get',
    path: '/v1/agents/{agent}/state/{key}',
    summary: 'Read a persistent key',
    capability: 'state.persistent.get',
    query: ['version'],
  },
  {
    method: 'put',
    path: '/v1/agents/{agent}/state/{key}',
    summary: 'Write a persistent key (body: the JSON value)',
    capability: 'state.persistent.set',
  },
  {
    method: 'delete',
    path: '/v1/agents/{agent}/state/{key}',
    summary: 'Delete a persistent key with its versions',
    capability: 'state.persistent.delete',
  },
  {
    method: 'get',
    path: '/v1/agents/{agent}/state/{key}/history',
    summary: 'Versions of a persistent key',
    capability: 'state.persistent.history',
    query: ['limit'],
  },
  {
    method: 'get',
    path: '/v1/shared/keys',
    summary: 'List shared keys',
    capability: 'state.shared.list',
    query: ['prefix', 'limit', 'cursor'],
  },
  {
    method: 'get',
    path: '/v1/shared/keys/{key}',
    summary: 'Read a shared key (ETag: its version)',
    capability: 'state.shared.get',
  },
  {
    method: 'put',
    path: '/v1/shared/keys/{key}',
    summary: 'Write a shared key (If-Match: the version read, 0 creates)',
    capability: 'state.shared.set',
  },
  {
    method: 'delete',
    path: '/v1/shared/keys/{key}',
    summary: 'Delete a shared key',
    capability: 'state.shared.delete',
  },
  {
    method: 'get',
    path: '/v1/agents/{agent}/inbox',
    summary: 'Read the unacknowledged changes of watched shared keys',
    response: inboxPageSchema,
    query: ['after', 'limit'],
  },
  {
    method: 'post',
    path: '/v1/agents/{agent}/inbox/ack',
    summary: 'Acknowledge the inbox up to a sequence number',
    body: inboxAckInputSchema,
    response: inboxAckResultSchema,
  },
  {
    method: 'get',
    path: '/v1/shared/watch',
    summary: "Server-Sent Events (event: change) of the tenant's shared changes under a prefix",
    query: ['prefix'],
    stream: watchedChangeSchema,
  },
];

function errorResponses() {
  const statuses = [...new Set(Object.values(errorStatus))].sort();
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: 'An error of the closed set',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
}

const json = (schemas: SchemaComponents, schema: z.ZodType, io: 'input' | 'output') => ({
  'application/json': { schema: schemas.of(schema, io) },
});

const binary = {
  'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
};

function pathParameters(path: string) {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
    ...(name === 'key' ? { description: keyPath } : {}),
  }));
}

function restOperation(operation: Operation, schemas: SchemaComponents) {
  const capability = operation.capability === undefined ? undefined : findCapability(operation.capability);
  const response = operation.response ?? capability?.output;
  const inputProperties =
    capability === undefined ? {} : (schemas.of(capability.input, 'input')['properties'] ?? {});
  const query = (operation.query ?? []).map((name) => ({
    name,
    in: 'query',
    required: false,
    schema:
      (inputProperties as Record<string, unknown>)[name] ??
      (name === 'prefix' ? { type: 'string' } : { type: 'integer', minimum: 0 }),
  }));
  if (operation.querySchema !== undefined)
    for (const [name, schema] of Object.entries(
      (schemas.of(operation.querySchema, 'input')['properties'] ?? {}) as Record<string, object>,
    ))
      query.push({ name, in: 'query', required: false, schema });
  const sharedKey = operation.path.startsWith('/v1/shared/keys/');
  const headers = [
    ...(sharedKey && operation.method === 'put'
      ? [{ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' } }]
      : []),
    ...(sharedKey && operation.method === 'delete'
      ? [
          {
            name: 'If-Match',
            in: 'header',
            required: false,
            schema: { type: 'string' },
            description: 'Delete only at this version (the ETag of GET), else 409 VersionConflict.',
          },
        ]
      : []),
    // The agent comes from the path where it has one; a stream is the caller's own.
    ...(operation.path.includes('{agent}') || operation.stream !== undefined ? [] : [agentHeader]),
  ];
  const valueBody = operation.method === 'put' && capability !== undefined;
  return {
    summary: operation.summary,
    ...(capability === undefined ? {} : { description: `Runs ${capability.name}.` }),
    parameters: [...pathParameters(operation.path), ...query, ...headers],
    ...(operation.body !== undefined
      ? { requestBody: { required: false, content: json(schemas, operation.body, 'input') } }
      : operation.binaryBody === true
        ? { requestBody: { required: true, content: binary } }
        : valueBody
          ? { requestBody: { required: true, content: { 'application/json': { schema: {} } } } }
          : {}),
    responses: {
      [String(operation.status ?? 200)]: {
        description: 'Success',
        ...(response === undefined ? {} : { content: json(schemas, response, 'output') }),
        ...(operation.stream === undefined ? {} : { content: eventStream(schemas, operation.stream) }),
        ...(operation.binaryResponse === true ? { content: binary } : {}),
      },
      ...errorResponses(),
    },
  };
}

/** `GET /v1/capabilities`: the catalogue, as `catalogue.ts` builds it. */
function catalogueOperation(schemas: SchemaComponents) {
  const catalogue = z.object({
    capabilities: z.array(
      z.object({
        name: z.string(),
        permission: z.enum(['autonomous', 'notify', 'approval_required'] satisfies PermissionClass[]),
        description: z.string(),
        input_schema: z.record(z.string(), z.unknown()).describe('JSON Schema (draft 2020-12) of the inputs'),
        output_schema: z
          .record(z.string(), z.unknown())
          .describe('JSON Schema (draft 2020-12) of the outputs'),
      }),
    ),
  });
  return {
    summary: 'Every capability with its permission class and the JSON Schemas of its inputs and outputs',
    parameters: [agentHeader],
    responses: {
      '200': { description: 'The catalogue', content: json(schemas, catalogue, 'output') },
      ...errorResponses(),
    },
  };
}

/**
 * Server-Sent Events. OpenAPI 3.1 can type the stream only as text, so each event's
 * `data` is a named component schema, and the description points at it.
 */
function eventStream(schemas: SchemaComponents, data: z.ZodType) {
  const name = 'WatchedChange';
  schemas.named(name, data, 'output');
  return {
    'text/event-stream': {
      schema: {
        type: 'string',
        description: `Server-Sent Events; each \`change\` event carries a JSON #/components/schemas/${name} as its data.`,
      },
    },
  };
}

function rpcOperation(capability: Capability, schemas: SchemaComponents) {
  return {
    post: {
      summary: capability.description,
      description: `Capability ${capability.name} (${capability.permission}).`,
      parameters: [agentHeader, sessionHeader],
      requestBody: { required: true, content: json(schemas, capability.input, 'input') },
      responses: {
        '200': { description: 'The outputs', content: json(schemas, capability.output, 'output') },
        ...errorResponses(),
      },
    },
  };
}

/** The OpenAPI 3.1 description of every route. */
export function buildOpenApiDocument(): Record<string, unknown> {
  const schemas = createSchemaComponents();
  const paths: Record<string, Record<string, unknown>> = { ...publicPaths };
  paths['/v1/capabilities'] = { get: catalogueOperation(schemas) };
  for (const capability of capabilities)
    paths[`/v1/capabilities/${capability.name}`] = rpcOperation(capability, schemas);
  for (const operation of [
    ...operations,
    ...portabilityOperations,
    ...backupOperations,
    ...approvalOperations,
    ...threadOperations,
  ]) {
    (paths[operation.path] ??= {})[operation.method] = restOperation(operation, schemas);
  }
  paths['/mcp'] = mcpPath;
  schemas.named('Error', errorBodySchema, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'agentstate',
      version: '1',
      description: 'State and memory for fleets of AI agents, over Dapr.',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      parameters: headerParameters,
      schemas: schemas.all(),
    },
  };
}
