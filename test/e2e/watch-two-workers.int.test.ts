import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import {
  agentstateComponents,
  startDaprTestWorker,
  type TestWorker,
} from '../../src/testing/api/test-worker.ts';
import {
  describeWithDapr,
  freePorts,
  makeTempDir,
  removeTempDir,
  startDaprd,
  startRedis,
  type DaprSidecar,
  type RedisServer,
} from '../../src/testing/harness/index.ts';
import { readSse, type SseReader } from '../../src/testing/sse-reader.ts';

// state.shared.watch across replicas: two workers of app `agentstate`, each beside its
// own sidecar, on one Redis (state store, competing pub/sub, broadcast pub/sub). Agent
// B watches and streams on worker 2; agent A writes through worker 1. The change must
// reach B's live stream on worker 2 (broadcast: every replica sees every change) and
// B's durable inbox (competing: whichever replica takes the change delivers it).
describeWithDapr('state.shared.watch across two workers (daprd + Redis)', () => {
  let dir: string;
  let redis: RedisServer;
  let sidecars: DaprSidecar[] = [];
  let workers: TestWorker[] = [];
  const streams: AbortController[] = [];

  beforeAll(async () => {
    dir = await makeTempDir('watch-two-workers');
    redis = await startRedis();
    const components = await agentstateComponents(redis, dir);
    const appPorts = await freePorts(2);
    sidecars = await Promise.all(
      appPorts.map((appPort) =>
        startDaprd({
          appId: 'agentstate',
          appPort,
          components,
        }),
      ),
    );
    workers = await Promise.all(sidecars.map((sidecar, i) => startDaprTestWorker(sidecar, appPorts[i]!)));
    await Promise.all(sidecars.map((sidecar) => sidecar.waitHealthy()));
  });

  afterAll(async () => {
    for (const stream of streams) stream.abort();
    await Promise.allSettled(workers.map((worker) => worker.close()));
    await Promise.allSettled(sidecars.map((sidecar) => sidecar.stop()));
    await redis?.stop();
    if (dir !== undefined) await removeTempDir(dir);
  });

  async function openStream(worker: TestWorker, token: string, prefix: string): Promise<SseReader> {
    const controller = new AbortController();
    streams.push(controller);
    const res = await fetch(`${worker.api.url}/v1/shared/watch?prefix=${encodeURIComponent(prefix)}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    return readSse(res);
  }

  it("delivers A's write on worker 1 to B's live stream and inbox on worker 2", async () => {
    const [one, two] = workers as [TestWorker, TestWorker];
    const tokenA = await one.token('acme', 'agent-a');
    const tokenB = await two.token('acme', 'agent-b');

    const session = await two.api.request('POST', '/v1/sessions', {}, { token: tokenB });
    expect(session.status, JSON.stringify(session.body)).toBe(201);
    const watch = await two.api.call(
      'state.shared.watch',
      { prefix: 'config.' },
      { token: tokenB, session: session.body.session_id },
    );
    expect(watch.status, JSON.stringify(watch.body)).toBe(200);
    const subscriptionId = watch.body.subscription_id as string;
    const stream = await openStream(two, tokenB, 'config.');
    // The replica that takes the write has streams too: every replica sees every change.
    const streamOnOne = await openStream(one, tokenB, 'config.');

    const other = await one.api.call(
      'state.shared.set',
      { key: 'other.mode', value: 'ignored', expected_version: 0 },
      { token: tokenA },
    );
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    const set = await one.api.call(
      'state.shared.set',
      { key: 'config.mode', value: 'production', expected_version: 0 },
      { token: tokenA },
    );
    expect(set.status, JSON.stringify(set.body)).toBe(200);

    const expected = { key: 'config.mode', version: 1, owner_agent: 'agent-a', operation: 'set' };
    await vi.waitFor(() => expect(stream.changes()).toEqual([expect.objectContaining(expected)]), {
      timeout: 20_000,
      interval: 50,
    });
    await vi.waitFor(() => expect(streamOnOne.changes()).toEqual(stream.changes()), { timeout: 20_000 });
    const [change] = stream.changes() as Array<{ id: string }>;
    expect(stream.messages.find((m) => m.event === 'change')?.id).toBe(change!.id);

    const inbox = await vi.waitFor(
      async () => {
        const res = await two.api.request('GET', '/v1/agents/agent-b/inbox', undefined, { token: tokenB });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.unread).toBe(1);
        return res.body as { entries: Array<{ seq: number; subscription_id: string; event: unknown }> };
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(inbox.entries).toEqual([
      expect.objectContaining({
        seq: 1,
        subscription_id: subscriptionId,
        event: expect.objectContaining({ ...expected, id: change!.id }),
      }),
    ]);

    const ack = await two.api.request(
      'POST',
      '/v1/agents/agent-b/inbox/ack',
      { through: 1 },
      { token: tokenB },
    );
    expect([ack.status, ack.body]).toEqual([200, { unread: 0 }]);
    const after = await one.api.request('GET', '/v1/agents/agent-b/inbox', undefined, { token: tokenB });
    expect(after.body).toMatchObject({ entries: [], unread: 0 });
  });
});
