import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Json } from '../../core/json.ts';
import { eventually, expectAppError } from '../../testing/conformance/assertions.ts';
import {
  describeWithDapr,
  freePort,
  localFileSecretStore,
  localStorageBinding,
  makeTempDir,
  postgresStateStore,
  redisPubSub,
  redisStateStore,
  removeTempDir,
  startDaprd,
  startPostgres,
  startRedis,
  type DaprSidecar,
} from '../../testing/harness/index.ts';
import {
  createDaprAdapters,
  createDaprEventBus,
  createDaprKvStore,
  createSidecarClient,
  waitForSidecar,
  type SidecarClient,
} from './index.ts';

// What the conformance suites cannot show: the adapters through a sidecar that demands
// an API token (HTTP and gRPC), waiting for the sidecar, and a subscription stream
// that breaks and comes back.

const TOKEN = 'sidecar-token';

describeWithDapr('Dapr adapters', () => {
  const stops: Array<() => Promise<void>> = [];
  let daprd: DaprSidecar;
  const config = (apiToken: string) => ({
    httpEndpoint: daprd.httpEndpoint,
    grpcEndpoint: daprd.grpcEndpoint,
    apiToken,
    stateStore: 'kv',
    pubsub: 'bus',
    broadcastPubsub: 'bus-broadcast',
    blobBinding: 'blobs',
    secretStore: 'secrets',
  });

  beforeAll(async () => {
    const [redis, dir] = await Promise.all([startRedis(), makeTempDir('adapters')]);
    stops.push(redis.stop, () => removeTempDir(dir));
    await writeFile(join(dir, 'secrets.json'), JSON.stringify({ 'vault-key': 'v' }));
    daprd = await startDaprd({
      appId: 'agentstate-adapters',
      daprApiToken: TOKEN,
      components: [
        redisStateStore('kv', redis),
        redisPubSub('bus', redis),
        redisPubSub('bus-broadcast', redis, { consumerID: '{uuid}', maxLenApprox: 1000 }),
        localStorageBinding('blobs', join(dir, 'blobs')),
        localFileSecretStore('secrets', join(dir, 'secrets.json')),
      ],
    });
    stops.push(daprd.stop);
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  }, 60_000);

  it('waits for the sidecar, and gives up with Unavailable', async () => {
    await waitForSidecar(daprd.httpEndpoint, 5_000);
    await expectAppError(waitForSidecar(`http://127.0.0.1:${await freePort()}`, 300), 'Unavailable');
  });

  it('sends the API token on every HTTP call and on the subscription stream', async () => {
    const { kv, blobs, bus, secrets } = createDaprAdapters(config(TOKEN));
    await Promise.all([kv.init(), blobs.init(), bus.init(), secrets.init()]);
    try {
      expect(kv.traits.name).toBe('dapr-redis');
      expect(blobs.name).toBe('dapr-localstorage');
      const etag = await kv.save('token/key', { ok: true });
      expect(await kv.get('token/key')).toEqual({ value: { ok: true }, etag });
      await blobs.put('token/blob', Buffer.from('bytes'));
      expect(Buffer.from((await blobs.get('token/blob'))!).toString()).toBe('bytes');
      expect(await secrets.get('vault-key')).toBe('v');
      const received: Json[] = [];
      const subscription = await bus.subscribe('token-topic', async (event) => void received.push(event));
      await bus.publish('token-topic', { n: 1 });
      await eventually(async () => expect(received).toEqual([{ n: 1 }]), 15_000);
      await subscription.close();
    } finally {
      await Promise.all([kv.close(), blobs.close(), bus.close(), secrets.close()]);
    }
  });

  it('sends reads and transactions started together in shared calls, answering each as alone', async () => {
    const sidecar = createSidecarClient({ httpEndpoint: daprd.httpEndpoint, apiToken: TOKEN });
    const sent: string[] = [];
    const counting: SidecarClient = {
      ...sidecar,
      request(request) {
        sent.push(request.path);
        return sidecar.request(request);
      },
    };
    const kv = createDaprKvStore({ sidecar: counting, storeName: 'kv' });
    await kv.init();
    const keys = Array.from({ length: 8 }, (_, n) => `together/${n}`);
    const etags = await Promise.all(keys.map((key) => kv.save(key, 0)));
    sent.length = 0;

    const entries = await Promise.all(keys.map((key) => kv.get(key)));
    expect(entries).toEqual(etags.map((etag) => ({ value: 0, etag })));
    expect(sent).toEqual(['/state/kv/bulk']);

    sent.length = 0;
    const outcomes = await Promise.allSettled(
      keys.map((key, n) =>
        kv.transact([
          { op: 'save', key: `${key}/history`, value: n },
          // The last writer holds a stale ETag: only its CAS fails.
          { op: 'save', key, value: n + 1, options: { etag: n === 7 ? 'stale' : (etags[n] as string) } },
        ]),
      ),
    );
    const fulfilled = Array.from({ length: 7 }, () => 'fulfilled');
    expect(outcomes.map((outcome) => outcome.status)).toEqual([...fulfilled, 'rejected']);
    expect((outcomes[7] as PromiseRejectedResult).reason).toMatchObject({ code: 'VersionConflict' });
    // One transaction for all eight, then one read to learn which of them applied.
    expect(sent).toEqual(['/state/kv/transaction', '/state/kv/bulk']);
    const after = await kv.getBulk(keys);
    expect(keys.map((key) => after.get(key)?.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 0]);
    await kv.close();
  });

  it('reports a refused API token as Unavailable', async () => {
    const { kv, bus } = createDaprAdapters(config('wrong-token'));
    await expectAppError(kv.init(), 'Unavailable');
    await expectAppError(bus.init(), 'Unavailable');
  });

  it('delivers at once to a broadcast subscription that replaced a closed one', async () => {
    // Without the lingering stream, the closed subscription's blocked XREADGROUP in daprd
    // takes the next event and it comes back only after the component's processingTimeout.
    const bus = createDaprAdapters(config(TOKEN)).bus;
    await bus.init();
    try {
      for (const round of [1, 2, 3]) {
        const received: Json[] = [];
        const subscription = await bus.subscribe('churn-topic', async (event) => void received.push(event), {
          mode: 'broadcast',
        });
        await bus.publish('churn-topic', { round });
        await eventually(async () => expect(received).toEqual([{ round }]), 5_000);
        await subscription.close();
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      await bus.close();
    }
  }, 30_000);

  it('reconnects a subscription whose stream broke, and delivers again', async () => {
    // A loopback TCP proxy in front of daprd's gRPC port, to cut the stream.
    const proxy = await startProxy(Number(new URL(daprd.grpcEndpoint).port));
    const reconnects: unknown[] = [];
    const sidecar = createSidecarClient({
      httpEndpoint: daprd.httpEndpoint,
      grpcEndpoint: `127.0.0.1:${proxy.port}`,
      apiToken: TOKEN,
    });
    const bus = createDaprEventBus({
      sidecar,
      pubsubName: 'bus',
      broadcastPubsubName: 'bus-broadcast',
      onReconnect: (error) => reconnects.push(error),
    });
    await bus.init();
    const received: Json[] = [];
    try {
      await bus.subscribe('reconnect-topic', async (event) => void received.push(event));
      await bus.publish('reconnect-topic', 'before');
      await eventually(async () => expect(received).toEqual(['before']), 15_000);
      proxy.cut();
      await eventually(async () => expect(reconnects.length).toBeGreaterThan(0), 15_000);
      // The new stream is established once daprd delivers to it again.
      await eventually(
        async () => {
          await bus.publish('reconnect-topic', 'after');
          expect(received).toContain('after');
        },
        30_000,
        1_000,
      );
    } finally {
      await bus.close();
      await proxy.close();
    }
  }, 60_000);
});

async function startProxy(target: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    close: async () => {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describeWithDapr('Dapr state store on PostgreSQL', () => {
  const stops: Array<() => Promise<void>> = [];
  let daprd: DaprSidecar;

  beforeAll(async () => {
    const pg = await startPostgres();
    stops.push(pg.stop);
    daprd = await startDaprd({ appId: 'agentstate-adapters-pg', components: [postgresStateStore('kv', pg)] });
    stops.push(daprd.stop);
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  }, 60_000);

  it('sends every transaction in key order, so that two never deadlock, keeping the order of each key', async () => {
    const sidecar = createSidecarClient({ httpEndpoint: daprd.httpEndpoint });
    const bodies: string[] = [];
    const recording: SidecarClient = {
      ...sidecar,
      request(request) {
        if (request.path.endsWith('/transaction') && request.jsonText !== undefined)
          bodies.push(request.jsonText);
        return sidecar.request(request);
      },
    };
    const kv = createDaprKvStore({ sidecar: recording, storeName: 'kv' });
    await kv.init();
    await kv.transact([
      { op: 'save', key: 'order/c', value: 'c' },
      { op: 'save', key: 'order/a', value: 'first' },
      { op: 'save', key: 'order/b', value: 'b' },
      { op: 'delete', key: 'order/a' },
      { op: 'save', key: 'order/a', value: 'last' },
    ]);
    const sent = (JSON.parse(bodies.at(-1) ?? '{}') as { operations: { request: { key: string } }[] })
      .operations;
    expect(sent.map((operation) => operation.request.key)).toEqual([
      'order/a',
      'order/a',
      'order/a',
      'order/b',
      'order/c',
    ]);
    const after = await kv.getBulk(['order/a', 'order/b', 'order/c']);
    expect(['order/a', 'order/b', 'order/c'].map((key) => after.get(key)?.value)).toEqual(['last', 'b', 'c']);

    // Writers crossing each other's keys in opposite orders, many at once: none deadlocks.
    const crossing = Array.from({ length: 40 }, (_, n) => {
      const [x, y] = n % 2 === 0 ? ['cross/x', 'cross/y'] : ['cross/y', 'cross/x'];
      return kv.transact([
        { op: 'save', key: x, value: n },
        { op: 'save', key: y, value: n },
      ]);
    });
    expect((await Promise.allSettled(crossing)).filter((outcome) => outcome.status === 'rejected')).toEqual(
      [],
    );
    await kv.close();
  });
});
