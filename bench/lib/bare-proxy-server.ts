import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

// What a Node.js worker in front of daprd costs with nothing of its own: a bare node:http server that does
// no authentication, validation, logging or metrics, only the sidecar calls that
// agentstate's acknowledged path needs (issue 6 point 1), over node:http with keep-alive:
//   GET /state/{key}: one get
//   PUT /state/{key} (body: JSON): a get of the head, then one transaction carrying a
//     history record and the head's upsert under the ETag read (first-write).
// Keys are the Dapr keys themselves.
//   node bench/lib/bare-proxy-server.ts serve <daprd http port> <state store>

export const BARE_PROXY_READY = 'BENCH_BARE_PROXY_READY ';

interface Answer {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: Buffer;
}

async function serve(daprPort: number, store: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const sidecar = (method: string, path: string, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const headers = body === undefined ? {} : { 'content-type': 'application/json' };
      const req = request({ host: '127.0.0.1', port: daprPort, method, path, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const etag = res.headers.etag;
          resolve({ status: res.statusCode ?? 0, etag, body: Buffer.concat(chunks) });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  const stateUrl = `/v1.0/state/${encodeURIComponent(store)}`;

  const update = async (key: string, req: IncomingMessage): Promise<number> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const head = await sidecar('GET', `${stateUrl}/${encodeURIComponent(key)}`);
    const version = Date.now();
    const operations = [
      { operation: 'upsert', request: { key: `${key}@${version}`, value } },
      {
        operation: 'upsert',
        request: {
          key,
          value: { version, value },
          ...(head.etag === undefined ? {} : { etag: head.etag, options: { concurrency: 'first-write' } }),
        },
      },
    ];
    const answer = await sidecar('POST', `${stateUrl}/transaction`, JSON.stringify({ operations }));
    return answer.status === 204 ? 204 : 502;
  };

  const server = createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/state\//, ''));
    const answered =
      req.method === 'GET'
        ? sidecar('GET', `${stateUrl}/${encodeURIComponent(key)}`).then((answer) => {
            res.writeHead(answer.status === 200 ? 200 : 404, { 'content-type': 'application/json' });
            res.end(answer.body);
          })
        : update(key, req).then((status) => {
            res.writeHead(status);
            res.end();
          });
    answered.catch(() => {
      res.writeHead(502);
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  process.stdout.write(`${BARE_PROXY_READY}${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    agent.destroy();
    process.exit(0);
  });
}

if (process.argv[2] === 'serve') await serve(Number(process.argv[3]), process.argv[4] ?? '');
