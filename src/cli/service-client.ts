import type { z } from 'zod';
import { AppError, ErrorCode } from '../core/errors.ts';
import type { Connection } from './connection.ts';

export type Query = Readonly<Record<string, string | number | readonly string[] | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as is, as `application/json` (a file being imported) unless `type` says otherwise, with its length if known. */
  readonly stream?: {
    readonly body: ReadableStream<Uint8Array>;
    readonly length?: number;
    readonly type?: string;
  };
}

/** The service as the CLI sees it: HTTP answers, and errors as `AppError`s with the service's code. */
export interface ServiceClient {
  readonly connection: Connection;
  /** The response of a successful request (2xx); anything else throws. */
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  /** The JSON answer of a successful request, decoded with `schema` (the one the service answers with). */
  json<T>(schema: z.ZodType<T>, method: string, path: string, options?: RequestOptions): Promise<T>;
}

export function createServiceClient(connection: Connection): ServiceClient {
  async function request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(`${connection.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    const headers: Record<string, string> = { ...connection.headers, accept: 'application/json' };
    let body: RequestInit['body'];
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.stream !== undefined) {
      headers['content-type'] = options.stream.type ?? 'application/json';
      if (options.stream.length !== undefined) headers['content-length'] = String(options.stream.length);
      body = options.stream.body;
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(options.stream === undefined ? {} : { duplex: 'half' }),
      });
    } catch (error) {
      throw new AppError('Unavailable', `cannot reach ${connection.describe}: ${reason(error)}`, {
        cause: error,
      });
    }
    // 202 is the one success that is no answer: the call waits for an approval.
    if (!response.ok || response.status === 202) throw await errorOf(response, connection);
    return response;
  }
  return {
    connection,
    request,
    async json<T>(schema: z.ZodType<T>, method: string, path: string, options?: RequestOptions): Promise<T> {
      const answer: unknown = await (await request(method, path, options)).json();
      const parsed = schema.safeParse(answer);
      if (!parsed.success)
        throw new AppError(
          'Internal',
          `${connection.describe} answered ${method} ${path} with a body this CLI does not understand (another version?)`,
          { cause: parsed.error },
        );
      return parsed.data;
    },
  };
}

const codes = new Set<string>(Object.values(ErrorCode));

/** The service's error body as an `AppError`; a sidecar's or proxy's error as what it means. */
async function errorOf(response: Response, connection: Connection): Promise<AppError> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
    ?.error;
  if (error !== undefined && typeof error.code === 'string' && codes.has(error.code)) {
    const details = error.details;
    return new AppError(error.code as ErrorCode, String(error.message), {
      ...(typeof details === 'object' && details !== null
        ? { details: details as Record<string, unknown> }
        : {}),
    });
  }
  // daprd's own errors: `{ errorCode, message }`, e.g. ERR_DIRECT_INVOKE when the app is down.
  const dapr = body as { errorCode?: unknown; message?: unknown } | undefined;
  if (typeof dapr?.errorCode === 'string')
    return new AppError(
      'Unavailable',
      `the Dapr sidecar answered ${dapr.errorCode}: ${String(dapr.message)}`,
    );
  const code: ErrorCode =
    response.status === 401
      ? 'Unauthenticated'
      : response.status === 403
        ? 'Forbidden'
        : response.status >= 502
          ? 'Unavailable'
          : 'Internal';
  return new AppError(code, `${connection.describe} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
