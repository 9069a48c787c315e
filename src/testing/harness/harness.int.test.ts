import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  acceptsConnections,
  azureBlobBinding,
  describeWithDapr,
  freePort,
  isLoopbackAddress,
  listenersOf,
  localFileSecretStore,
  localStorageBinding,
  makeTempDir,
  postgresStateStore,
  redisPubSub,
  redisStateStore,
  removeTempDir,
  startAzurite,
  startDaprd,
  startPostgres,
  startRedis,
  type AzuriteServer,
  type DaprSidecar,
  type PostgresServer,
  type RedisServer,
} from './index.ts';

/** One RESP command to Redis, answering the raw reply; enough to inspect a stream. */
function redisCommand(redis: RedisServer, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: redis.host, port: redis.port });
    const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    socket.once('connect', () => socket.write(request));
    socket.once('data', (reply) => {
      socket.end();
      resolve(reply.toString('utf8'));
    });
    socket.once('error', reject);
  });
}

describeWithDapr('integration harness: daprd with every component kind', () => {
  let redis: RedisServer;
  let pg: PostgresServer;
  let azurite: AzuriteServer;
  let dapr: DaprSidecar;
  let dir: string;

  const daprFetch = (path: string, body?: unknown): Promise<Response> =>
    fetch(`${dapr.httpEndpoint}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });

  beforeAll(async () => {
    [redis, pg, azurite, dir] = await Promise.all([
      startRedis(),
      startPostgres(),
      startAzurite(),
      makeTempDir('harness-test'),
    ]);
    const secretsFile = join(dir, 'secrets.json');
    await writeFile(
      secretsFile,
      JSON.stringify({ 'agentstate-vault-key': 'vault-key-for-tests', nested: { inner: 'nested-value' } }),
    );
    dapr = await startDaprd({
      appId: 'harness-test',
      components: [
        redisStateStore('redis-state', redis),
        postgresStateStore('pg-state', pg),
        // v1 and v2 both default to a table named `state`, with different columns.
        postgresStateStore('pg2-state', pg, { version: 'v2', metadata: { tablePrefix: 'v2_' } }),
        redisPubSub('pubsub', redis, { maxLenApprox: 100 }),
        localStorageBinding('files', join(dir, 'blobs')),
        azureBlobBinding('azure-blobs', azurite, 'agentstate-test'),
        localFileSecretStore('secrets', secretsFile),
      ],
    });
  });

  afterAll(async () => {
    // Each stop is a no-op after the last test stopped it; this covers a failure before that.
    await Promise.allSettled([dapr?.stop(), redis?.stop(), pg?.stop(), azurite?.stop()]);
    if (dir !== undefined) await removeTempDir(dir);
  });

  it.each(['redis-state', 'pg-state', 'pg2-state'])(
    'saves and reads back state through %s',
    async (store) => {
      const key = `round/trip:${store}`;
      const save = await daprFetch(`/v1.0/state/${store}`, [{ key, value: { n: 1, text: 'é' } }]);
      expect(save.status).toBe(204);
      const read = await daprFetch(`/v1.0/state/${store}/${encodeURIComponent(key)}`);
      expect(read.status).toBe(200);
      expect(read.headers.get('etag')).toBeTruthy();
      expect(await read.json()).toEqual({ n: 1, text: 'é' });
    },
  );

  it('stores Redis keys without an app-id prefix (keyPrefix: none)', async () => {
    await daprFetch('/v1.0/state/redis-state', [{ key: 'plain-key', value: 1 }]);
    expect(await redisCommand(redis, 'EXISTS', 'plain-key')).toBe(':1\r\n');
  });

  it('publishes onto a Redis stream', async () => {
    const publish = await daprFetch('/v1.0/publish/pubsub/harness-topic', { hello: 'world' });
    expect(publish.status).toBe(204);
    expect(await redisCommand(redis, 'XLEN', 'harness-topic')).toBe(':1\r\n');
  });

  it('creates and gets a file through the localstorage binding', async () => {
    const create = await daprFetch('/v1.0/bindings/files', {
      operation: 'create',
      data: 'local bytes',
      metadata: { fileName: 'a/b.txt' },
    });
    expect(create.status).toBe(200);
    expect(await readFile(join(dir, 'blobs', 'a', 'b.txt'), 'utf8')).toBe('local bytes');
    const get = await daprFetch('/v1.0/bindings/files', {
      operation: 'get',
      metadata: { fileName: 'a/b.txt' },
    });
    expect(await get.text()).toBe('local bytes');
  });

  it('creates and gets a blob through the Azure binding on Azurite', async () => {
    const create = await daprFetch('/v1.0/bindings/azure-blobs', {
      operation: 'create',
      data: 'azure bytes',
      metadata: { blobName: 'x/y.bin' },
    });
    expect(create.status).toBe(200);
    const get = await daprFetch('/v1.0/bindings/azure-blobs', {
      operation: 'get',
      metadata: { blobName: 'x/y.bin' },
    });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('azure bytes');
  });

  it('reads secrets, nested ones by the separator', async () => {
    const flat = await daprFetch('/v1.0/secrets/secrets/agentstate-vault-key');
    expect(await flat.json()).toEqual({ 'agentstate-vault-key': 'vault-key-for-tests' });
    const nested = await daprFetch(`/v1.0/secrets/secrets/${encodeURIComponent('nested:inner')}`);
    expect(await nested.json()).toEqual({ 'nested:inner': 'nested-value' });
  });

  it('binds every listener it opened to loopback', async () => {
    const listeners = await listenersOf();
    const expectedPorts = [
      redis.port,
      pg.port,
      azurite.blobPort,
      dapr.httpPort,
      dapr.grpcPort,
      dapr.internalGrpcPort,
    ];
    expect(listeners.map((l) => l.port)).toEqual(expect.arrayContaining(expectedPorts));
    expect(listeners.filter((l) => !isLoopbackAddress(l.address))).toEqual([]);
  });

  it('stops every server and frees its ports', async () => {
    const ports = [
      redis.port,
      pg.port,
      azurite.blobPort,
      dapr.httpPort,
      dapr.grpcPort,
      dapr.internalGrpcPort,
    ];
    await dapr.stop();
    await Promise.all([redis.stop(), pg.stop(), azurite.stop()]);
    const open = await Promise.all(ports.map((port) => acceptsConnections(port)));
    expect(open).toEqual(ports.map(() => false));
    expect(await listenersOf()).toEqual([]);
  });
});

describeWithDapr('integration harness: service invocation between two sidecars', () => {
  const received: IncomingHttpHeaders[] = [];
  const app = createServer((request, response) => {
    received.push(request.headers);
    response.end(`hello from ${request.url}`);
  });
  let caller: DaprSidecar;
  let callee: DaprSidecar;

  beforeAll(async () => {
    const appPort = await freePort();
    await new Promise<void>((resolve) => app.listen(appPort, '127.0.0.1', resolve));
    [caller, callee] = await Promise.all([
      startDaprd({ appId: 'caller', components: [], nameResolution: 'sqlite', daprApiToken: 'caller-token' }),
      startDaprd({
        appId: 'callee',
        components: [],
        nameResolution: 'sqlite',
        appPort,
        appApiToken: 'app-token',
      }),
    ]);
    await callee.waitHealthy();
  });

  afterAll(async () => {
    await Promise.allSettled([caller?.stop(), callee?.stop()]);
    app.close();
  });

  it('finds the other app through the shared sqlite registry and passes the app token', async () => {
    const response = await fetch(`${caller.httpEndpoint}/v1.0/invoke/callee/method/greet`, {
      headers: { 'dapr-api-token': 'caller-token' },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello from /greet');
    expect(received.at(-1)?.['dapr-api-token']).toBe('app-token');
  });

  it('refuses API calls without the dapr API token', async () => {
    const response = await fetch(`${caller.httpEndpoint}/v1.0/invoke/callee/method/greet`);
    expect(response.status).toBe(401);
  });
});
