import { tokenMinter } from '../../src/testing/api/api-client.ts';
import { TEST_TOKEN_KEY } from '../../src/testing/api/test-worker.ts';
import type { HttpAnswer, HttpClient } from './http-client.ts';
import { STATE_STORE } from './targets.ts';

/** Tokens for the bench workers, which all hold the test workers' token key. */
export const mintToken = tokenMinter(TEST_TOKEN_KEY);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** agentstate's REST API, as an agent (or any caller) with `token` calls it. */
export function agentstateApi(http: HttpClient, url: string, token: string) {
  const auth = bearer(token);
  const stateUrl = (agent: string, key: string) =>
    `${url}/v1/agents/${encodeURIComponent(agent)}/state/${encodeURIComponent(key)}`;
  return {
    set: (agent: string, key: string, value: unknown) =>
      http.ok('PUT', stateUrl(agent, key), JSON.stringify(value), auth),
    /** Like `set`, answering the status instead of throwing. */
    trySet: (agent: string, key: string, value: unknown) =>
      http.send('PUT', stateUrl(agent, key), JSON.stringify(value), auth),
    get: (agent: string, key: string) => http.ok('GET', stateUrl(agent, key), undefined, auth),
    list: (agent: string, query: { limit?: number; cursor?: string; prefix?: string }) => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query))
        if (value !== undefined) params.set(name, String(value));
      return http.ok(
        'GET',
        `${url}/v1/agents/${encodeURIComponent(agent)}/state?${params.toString()}`,
        undefined,
        auth,
      );
    },
    delete: (agent: string, key: string) => http.ok('DELETE', stateUrl(agent, key), undefined, auth),
    openSession: async (agent: string) =>
      (
        JSON.parse((await http.ok('POST', `${url}/v1/sessions`, JSON.stringify({ agent }), auth)).text) as {
          session_id: string;
        }
      ).session_id,
    sessionSet: (session: string, key: string, value: unknown) =>
      http.ok(
        'PUT',
        `${url}/v1/sessions/${encodeURIComponent(session)}/state/${encodeURIComponent(key)}`,
        JSON.stringify(value),
        auth,
      ),
    sessionGet: (session: string, key: string) =>
      http.ok(
        'GET',
        `${url}/v1/sessions/${encodeURIComponent(session)}/state/${encodeURIComponent(key)}`,
        undefined,
        auth,
      ),
    sharedGet: (key: string) =>
      http.ok('GET', `${url}/v1/shared/keys/${encodeURIComponent(key)}`, undefined, auth),
    /** Answers the status: 409 is a `VersionConflict`. */
    sharedPut: (key: string, value: unknown, expectedVersion: number): Promise<HttpAnswer> =>
      http.send('PUT', `${url}/v1/shared/keys/${encodeURIComponent(key)}`, JSON.stringify(value), {
        ...auth,
        'if-match': `"${expectedVersion}"`,
      }),
  };
}
export type AgentstateApi = ReturnType<typeof agentstateApi>;

/** daprd's state API on agentstate's state store: the baseline of every Dapr workload. */
export function daprStateApi(http: HttpClient, endpoint: string) {
  const base = `${endpoint}/v1.0/state/${STATE_STORE}`;
  return {
    save: (key: string, value: unknown) => http.ok('POST', base, JSON.stringify([{ key, value }])),
    /** A save that only succeeds while the key has `etag`; answers the status (409 on a stale ETag). */
    trySaveIfMatch: (key: string, value: unknown, etag: string) =>
      http.send(
        'POST',
        base,
        JSON.stringify([{ key, value, etag, options: { concurrency: 'first-write' } }]),
      ),
    get: (key: string) => http.ok('GET', `${base}/${encodeURIComponent(key)}`),
  };
}
export type DaprStateApi = ReturnType<typeof daprStateApi>;

/** A JSON value of about `bytes` bytes whose size changes with `n`, as an agent's updates do. */
export function benchValue(writer: number, n: number, bytes = 96): unknown {
  return { writer, n, note: 'x'.repeat(bytes + (n % 8) * 16) };
}
