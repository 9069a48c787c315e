import type { Role } from '../../core/identity/caller.ts';
import { issueToken } from '../../core/identity/tokens.ts';

/** What a test worker answered: status, parsed JSON body (if any) and headers. */
export interface ApiResponse<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface RequestOptions {
  readonly token?: string;
  readonly session?: string;
  readonly agent?: string;
  readonly headers?: Record<string, string>;
  /** Sent as is instead of `JSON.stringify(body)`. */
  readonly rawBody?: string;
}

/** A client of one worker, for tests: HTTP only, the way a gateway or a person calls it. */
export interface ApiClient {
  readonly url: string;
  request(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse>;
  /** `POST /v1/capabilities/{name}`. */
  call(name: string, input: unknown, options?: RequestOptions): Promise<ApiResponse>;
}

export function apiClient(url: string): ApiClient {
  const request = async (method: string, path: string, body?: unknown, options: RequestOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.session !== undefined) headers['x-session-id'] = options.session;
    if (options.agent !== undefined) headers['x-agent-id'] = options.agent;
    const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's page, say): the test sees the text.
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
  return {
    url,
    request,
    call: (name, input, options) => request('POST', `/v1/capabilities/${name}`, input, options),
  };
}

/** Mints tokens with a worker's token key. */
export function tokenMinter(tokenKey: string) {
  return async (tenant: string, subject: string, roles: Role[] = ['agent'], ttlSeconds?: number) =>
    (
      await issueToken(tokenKey, {
        tenant,
        subject,
        roles,
        ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      })
    ).token;
}
