import { Agent, request } from 'node:http';
import { assertLoopbackUrl } from '../../src/testing/harness/index.ts';

/** An answer read whole: status, body text and the headers the bench looks at. */
export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  readonly etag: string | undefined;
}

export interface HttpClient {
  send(method: string, url: string, body?: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  /** Like `send`, but throws unless the status is 2xx. */
  ok(method: string, url: string, body?: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  close(): void;
}

/**
 * The one HTTP client of every workload, on agentstate and on daprd alike: node:http
 * with a keep-alive agent (no socket limit, so each closed-loop writer keeps its own
 * connection), a per-request timeout, and loopback addresses only.
 */
export function createHttpClient(timeoutMs = 30_000): HttpClient {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  const checked = new Set<string>();

  function send(method: string, url: string, body?: string, headers: Record<string, string> = {}) {
    const origin = url.slice(0, url.indexOf('/', 'http://'.length));
    if (!checked.has(origin)) {
      assertLoopbackUrl(origin);
      checked.add(origin);
    }
    return new Promise<HttpAnswer>((resolve, reject) => {
      const outgoing = { ...headers };
      if (body !== undefined) {
        outgoing['content-type'] ??= 'application/json';
        outgoing['content-length'] = String(Buffer.byteLength(body));
      }
      const req = request(url, { method, agent, headers: outgoing, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const etag = res.headers.etag;
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), etag });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url} took over ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    send,
    async ok(method, url, body, headers) {
      const answer = await send(method, url, body, headers);
      if (answer.status < 200 || answer.status > 299)
        throw new Error(
          `${method} ${new URL(url).pathname} answered ${answer.status}: ${answer.text.slice(0, 200)}`,
        );
      return answer;
    },
    close: () => agent.destroy(),
  };
}
