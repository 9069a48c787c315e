import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSidecarClient, SidecarError } from './sidecar-client.ts';

// A stand-in for daprd's HTTP API on loopback: what the client sends and how it reads
// answers. Dapr's own behaviour is tested against daprd in test/conformance/dapr-*.
let server: Server;
let endpoint: string;
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
const routes = new Map<string, (res: ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      (routes.get(req.url ?? '') ?? ((r) => r.writeHead(204).end()))(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createSidecarClient', () => {
  it('sends JSON with the API token and answers binary bodies byte for byte', async () => {
    const bytes = Buffer.from([0, 255, 128, 10]);
    routes.set('/v1.0/bindings/b', (res) => res.writeHead(200, { 'metadata.marker': 'm' }).end(bytes));
    const client = createSidecarClient({ httpEndpoint: `${endpoint}/`, apiToken: 'secret' });
    const response = await client.request({
      method: 'POST',
      path: '/bindings/b',
      json: { operation: 'get' },
    });
    expect(Buffer.from(response.body).equals(bytes)).toBe(true);
    expect(response.headers.get('metadata.marker')).toBe('m');
    const request = seen.at(-1);
    expect(request?.headers['dapr-api-token']).toBe('secret');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toEqual({ operation: 'get' });
  });

  it('throws daprd’s error code and message', async () => {
    routes.set('/v1.0/state/kv', (res) =>
      res
        .writeHead(409, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errorCode: 'ERR_STATE_SAVE', message: 'possible etag mismatch' })),
    );
    const error = await createSidecarClient({ httpEndpoint: endpoint })
      .request({ method: 'POST', path: '/state/kv', json: [] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SidecarError);
    expect(error).toMatchObject({
      kind: 'http',
      status: 409,
      errorCode: 'ERR_STATE_SAVE',
      detail: 'possible etag mismatch',
    });
  });

  it('keeps a body that is not daprd’s error JSON as the detail', async () => {
    routes.set('/v1.0/metadata', (res) => res.writeHead(401).end('invalid api token'));
    await expect(createSidecarClient({ httpEndpoint: endpoint }).components()).rejects.toMatchObject({
      kind: 'http',
      status: 401,
      errorCode: undefined,
      detail: 'invalid api token',
    });
  });

  it('tells a timeout from a refused connection', async () => {
    routes.set('/v1.0/slow', () => undefined);
    await expect(
      createSidecarClient({ httpEndpoint: endpoint, timeoutMs: 100 }).request({
        method: 'GET',
        path: '/slow',
      }),
    ).rejects.toMatchObject({
      kind: 'timeout',
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await createSidecarClient({ httpEndpoint: `http://127.0.0.1:${port}` })
      .request({ method: 'GET', path: '/metadata' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unreachable' });
    expect((error as SidecarError).detail).toMatch(/ECONNREFUSED/);
  });

  it('reads the components from the metadata API', async () => {
    routes.set('/v1.0/metadata', (res) =>
      res.writeHead(200).end(
        JSON.stringify({
          id: 'app',
          components: [{ name: 'kv', type: 'state.redis', version: 'v1', capabilities: ['ETAG'] }],
        }),
      ),
    );
    expect(await createSidecarClient({ httpEndpoint: endpoint }).components()).toEqual([
      { name: 'kv', type: 'state.redis', version: 'v1' },
    ]);
  });
});
