import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';

/**
 * A thin client of daprd's HTTP API (https://docs.dapr.io/reference/api/), used instead of
 * `@dapr/dapr` wherever the SDK (3.18.0) has the wrong semantics for a port:
 *
 * - state: HTTP `state.save` / `state.delete` return `{ error }` instead of throwing
 *   (`implementation/Client/HTTPClient/state.js`); `state.get` drops the `ETag` header and
 *   answers `""` for a missing key; concurrency options must be SDK enums or are silently
 *   dropped (`utils/Client.util.js#getStateConcurrencyValue`); HTTP keys go into the URL
 *   unencoded; the gRPC `transaction` encodes values with `Buffer.from(value)` (objects
 *   throw) and sends no per-operation metadata, so no TTL.
 * - pub/sub: HTTP `pubsub.publish` returns `{ error }` instead of throwing.
 * - bindings: HTTP `binding.send` parses the body as text (binary objects are corrupted)
 *   and drops the `metadata.*` response headers.
 * - metadata: the SDK's only HTTP client is the whole `DaprClient`; one GET does not need it.
 *
 * Every call carries `dapr-api-token` when configured and a per-request timeout, over
 * kept-alive connections, so sequential calls reuse one socket. Errors are `SidecarError`s, which the adapters turn into `AppError`s with
 * the functions in `translate-error.ts`; nothing here leaves `src/adapters/dapr`.
 */
export interface SidecarClient {
  /** `http://127.0.0.1:3500`, without a trailing slash. */
  readonly httpEndpoint: string;
  /** `http://127.0.0.1:50001` (the form `DAPR_GRPC_ENDPOINT` takes), if configured. */
  readonly grpcEndpoint: string | undefined;
  readonly apiToken: string | undefined;
  /** Sends one request to `/v1.0{path}`; answers 2xx responses, throws `SidecarError` otherwise. */
  request(request: SidecarRequest): Promise<SidecarResponse>;
  /** The components daprd has loaded (`GET /v1.0/metadata`). */
  components(): Promise<readonly SidecarComponent[]>;
}

export interface SidecarClientOptions {
  readonly httpEndpoint: string;
  readonly grpcEndpoint?: string | undefined;
  /** Sent as `dapr-api-token` (daprd's `DAPR_API_TOKEN`). */
  readonly apiToken?: string | undefined;
  /**
   * Per-request timeout. daprd's Redis client retries a refused connection for about
   * three seconds before answering, so this must be well above that.
   * @default 30000
   */
  readonly timeoutMs?: number;
}

export interface SidecarRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Below `/v1.0`, already URL-encoded, e.g. `/state/kv/bulk`. */
  readonly path: string;
  /** Sent as `application/json`. */
  readonly json?: unknown;
  /** Sent as `application/json` as it is: JSON its caller encoded already. */
  readonly jsonText?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface SidecarResponse {
  readonly status: number;
  /** Response headers, names lower-cased. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

export interface SidecarComponent {
  readonly name: string;
  /** e.g. `state.redis`, `bindings.localstorage`, `pubsub.redis`. */
  readonly type: string;
  readonly version: string;
}

/** How a sidecar call failed, before any adapter decides what it means for its port. */
export type SidecarErrorKind = 'http' | 'unreachable' | 'timeout';

/** A failed sidecar call: a non-2xx answer (`kind: 'http'`), or no answer at all. */
export class SidecarError extends Error {
  override readonly name = 'SidecarError';
  readonly kind: SidecarErrorKind;
  /** The HTTP status, for `kind: 'http'`. */
  readonly status: number | undefined;
  /** daprd's `errorCode`, e.g. `ERR_STATE_SAVE`, when the body carried one. */
  readonly errorCode: string | undefined;
  /** daprd's `message`, or the raw body when it was not daprd's error JSON. */
  readonly detail: string;

  constructor(
    kind: SidecarErrorKind,
    detail: string,
    init: { status?: number; errorCode?: string; cause?: unknown } = {},
  ) {
    const where =
      init.status === undefined ? kind : `HTTP ${init.status}${init.errorCode ? ` ${init.errorCode}` : ''}`;
    super(`dapr sidecar: ${where}: ${detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = kind;
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.detail = detail;
  }
}

// daprd's error body (pkg/messages/api_error.go): {"errorCode": "...", "message": "..."}.
const daprErrorBody = z.object({ errorCode: z.string().optional(), message: z.string().optional() });

const metadataBody = z.object({
  components: z
    .array(z.object({ name: z.string(), type: z.string(), version: z.string().default('') }))
    .default([]),
});

/** Creates a client; nothing is sent until the first call. */
export function createSidecarClient(options: SidecarClientOptions): SidecarClient {
  const httpEndpoint = options.httpEndpoint.replace(/\/+$/, '');
  const defaultTimeoutMs = options.timeoutMs ?? 30_000;
  // Fails fast on a malformed endpoint, before any request.
  const transport = new URL(httpEndpoint).protocol === 'https:' ? https : http;
  // node:http rather than fetch: measured against daprd, fetch (undici's WHATWG layer)
  // spent three to four times the CPU per request, on every state call of a worker.
  const agent = new transport.Agent({ keepAlive: true });

  function request(req: SidecarRequest): Promise<SidecarResponse> {
    const headers: Record<string, string> = { ...req.headers };
    if (options.apiToken !== undefined) headers['dapr-api-token'] = options.apiToken;
    let body: Buffer | undefined;
    const text = req.jsonText ?? (req.json === undefined ? undefined : JSON.stringify(req.json));
    if (text !== undefined) {
      body = Buffer.from(text);
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.byteLength);
    }
    const timeoutMs = req.timeoutMs ?? defaultTimeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    const failed = (error: unknown): SidecarError =>
      signal.aborted
        ? new SidecarError('timeout', `${req.method} ${req.path} got no answer within ${timeoutMs} ms`, {
            cause: error,
          })
        : new SidecarError('unreachable', `${req.method} ${req.path}: ${describeNetworkError(error)}`, {
            cause: error,
          });
    return new Promise((resolve, reject) => {
      const outgoing = transport.request(
        `${httpEndpoint}/v1.0${req.path}`,
        { method: req.method, headers, agent, signal },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(failed(error)));
          response.on('end', () => {
            // One copy of the body, not two: bulk reads and blob parts are megabytes each.
            const bytes: Uint8Array = Buffer.concat(chunks);
            const status = response.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(httpError(status, bytes));
            const responseHeaders = new Map<string, string>();
            for (const [name, value] of Object.entries(response.headers))
              if (value !== undefined)
                responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
            resolve({ status, headers: responseHeaders, body: bytes });
          });
        },
      );
      outgoing.on('error', (error) => reject(failed(error)));
      outgoing.end(body);
    });
  }

  return {
    httpEndpoint,
    grpcEndpoint: options.grpcEndpoint,
    apiToken: options.apiToken,
    request,
    async components() {
      const response = await request({ method: 'GET', path: '/metadata' });
      return metadataBody.parse(JSON.parse(decodeText(response.body))).components;
    },
  };
}

function httpError(status: number, body: Uint8Array): SidecarError {
  const text = decodeText(body);
  let parsed: z.infer<typeof daprErrorBody> | undefined;
  try {
    const result = daprErrorBody.safeParse(JSON.parse(text));
    if (result.success) parsed = result.data;
  } catch {
    // Not JSON: e.g. "invalid api token" from daprd's token middleware.
  }
  const detail = parsed?.message ?? text.trim();
  return new SidecarError('http', detail === '' ? `status ${status}` : detail, {
    status,
    ...(parsed?.errorCode === undefined ? {} : { errorCode: parsed.errorCode }),
  });
}

/** The error's message and code, and those of its causes (ECONNREFUSED, ...). */
function describeNetworkError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.join(': ') || String(error);
}

export function decodeText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** The component named `name`, or `undefined` when daprd has not loaded one. */
export async function findComponent(
  sidecar: SidecarClient,
  name: string,
): Promise<SidecarComponent | undefined> {
  return (await sidecar.components()).find((component) => component.name === name);
}
