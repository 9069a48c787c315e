import { emptyCheckpoint, uuid6, type Checkpoint } from '@langchain/langgraph-checkpoint';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateSaver } from '../../src/langgraph/index.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';
import { codeOf } from '../../src/testing/error-code.ts';

// Issue 10, what users of other checkpointers ask for, over REST and through the saver:
// a late write after deleteThread is refused, threads expire, threads list newest first,
// a 10 MB channel value round-trips; and every bad input is refused, writing nothing.

let w: TestWorker;
let token: string;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
  token = await w.token('acme', 'planner', ['agent']);
}, 60_000);
afterAll(async () => w?.close());

const saver = (options: { ttlSeconds?: number; refreshTtlOnRead?: boolean } = {}) =>
  new AgentStateSaver({ url: w.worker.url, token, ...options });

function checkpointWith(values: Record<string, unknown>): Checkpoint {
  const checkpoint = emptyCheckpoint();
  checkpoint.id = uuid6(-1);
  checkpoint.channel_values = values;
  checkpoint.channel_versions = Object.fromEntries(Object.keys(values).map((channel) => [channel, 1]));
  return checkpoint;
}
const meta = { source: 'loop' as const, step: 0, parents: {} };
const thread = (id: string) => ({ configurable: { thread_id: id, checkpoint_ns: '' } });

describe('checkpoints over REST and AgentStateSaver', () => {
  it('refuses a late put or putWrites for a deleted thread, and the delete stays done', async () => {
    const s = saver();
    const config = await s.put(thread('late'), checkpointWith({ a: 1 }), meta, { a: 1 });
    await s.deleteThread('late');
    expect(await codeOf(s.put(config, checkpointWith({ a: 2 }), meta, { a: 2 }))).toBe('KeyNotFound');
    expect(await codeOf(s.putWrites(config, [['a', 3]], 'task'))).toBe('KeyNotFound');
    expect(await s.getTuple(thread('late'))).toBeUndefined();
    expect(await s.getTuple(config)).toBeUndefined();
    const res = await w.api.request('GET', '/v1/threads/late/checkpoints', undefined, { token });
    expect(res.body).toEqual({ checkpoints: [] });
  });

  it('expires a thread its TTL after the last write, unless reads refresh it', async () => {
    const refreshing = saver({ ttlSeconds: 2, refreshTtlOnRead: true });
    const plain = saver({ ttlSeconds: 2 });
    await plain.put(thread('ttl-dropped'), checkpointWith({ a: 1 }), meta, { a: 1 });
    await refreshing.put(thread('ttl-kept'), checkpointWith({ a: 1 }), meta, { a: 1 });
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 900));
      expect(await refreshing.getTuple(thread('ttl-kept'))).toBeDefined();
    }
    expect(await plain.getTuple(thread('ttl-dropped'))).toBeUndefined();
    const listed = await w.api.request('GET', '/v1/threads', undefined, { token });
    const ids = listed.body.threads.map((t: { thread_id: string }) => t.thread_id);
    expect(ids).toContain('ttl-kept');
    expect(ids).not.toContain('ttl-dropped');
  });

  it("lists an agent's threads newest first, a page at a time, and no other agent's", async () => {
    const other = await w.token('acme', 'someone-else', ['agent']);
    const s = saver();
    for (const id of ['list-1', 'list-2', 'list-3']) {
      await s.put(thread(id), checkpointWith({}), meta, {});
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const first = await w.api.request('GET', '/v1/threads?limit=2', undefined, { token });
    expect(first.status).toBe(200);
    expect(first.body.threads.map((t: { thread_id: string }) => t.thread_id)).toEqual(['list-3', 'list-2']);
    const rest = await w.api.request(
      'GET',
      `/v1/threads?limit=100&cursor=${encodeURIComponent(first.body.cursor)}`,
      undefined,
      { token },
    );
    expect(rest.body.threads.map((t: { thread_id: string }) => t.thread_id)).toContain('list-1');
    expect((await w.api.request('GET', '/v1/threads', undefined, { token: other })).body.threads).toEqual([]);
  });

  it('round-trips a 10 MB channel value through the blob store, untruncated', async () => {
    const big = Array.from({ length: 10 * 1024 }, (_, i) => `${i}:${'x'.repeat(1019)}`).join('');
    expect(big.length).toBeGreaterThan(w.worker.adapters.kv.limits.maxValueBytes * 2);
    const s = saver();
    const config = await s.put(thread('big'), checkpointWith({ big, small: 'kept inline' }), meta, {
      big: 1,
      small: 1,
    });
    await s.putWrites(config, [['big', big]], 'writer');
    const tuple = await s.getTuple(config);
    expect(tuple?.checkpoint.channel_values['big']).toBe(big);
    expect(tuple?.checkpoint.channel_values['small']).toBe('kept inline');
    expect(tuple?.pendingWrites).toEqual([['writer', 'big', big]]);
  });

  it('copies a thread to a new thread id, refusing one that exists', async () => {
    const s = saver();
    const config = await s.put(thread('original'), checkpointWith({ a: 'A' }), meta, { a: 1 });
    await s.putWrites(config, [['a', 'B']], 'task');
    const copy = await w.api.request(
      'POST',
      '/v1/threads/original/copy',
      { target_thread_id: 'copy' },
      { token },
    );
    expect(copy.body).toEqual({ thread_id: 'copy', checkpoints: 1 });
    const copied = await s.getTuple(thread('copy'));
    expect(copied?.checkpoint).toEqual((await s.getTuple(thread('original')))?.checkpoint);
    expect(copied?.pendingWrites).toEqual([['task', 'a', 'B']]);
    const again = await w.api.request(
      'POST',
      '/v1/threads/original/copy',
      { target_thread_id: 'copy' },
      { token },
    );
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('IdConflict');
  });

  it('answers 401 without a token and 403 for another agent or a write by a supervisor', async () => {
    expect((await w.api.request('GET', '/v1/threads')).status).toBe(401);
    const supervisor = await w.token('acme', 'boss', ['supervisor']);
    const put = { checkpoint: { id: 'c1', channel_versions: {} }, metadata: {} };
    const denied = await w.api.request('PUT', '/v1/threads/x/checkpoints', put, {
      token: supervisor,
      agent: 'planner',
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('Forbidden');
    const other = await w.token('acme', 'someone-else', ['agent']);
    expect(
      (await w.api.request('GET', '/v1/threads', undefined, { token: other, agent: 'planner' })).status,
    ).toBe(403);
    expect(
      (await w.api.request('GET', '/v1/threads', undefined, { token: supervisor, agent: 'planner' })).status,
    ).toBe(200);
  });

  it('describes /v1/threads in a valid /openapi.json', async () => {
    const doc = (await w.api.request('GET', '/openapi.json')).body;
    for (const [path, methods] of Object.entries({
      '/v1/threads': ['get'],
      '/v1/threads/{thread}': ['delete'],
      '/v1/threads/{thread}/copy': ['post'],
      '/v1/threads/{thread}/checkpoints': ['get', 'put'],
      '/v1/threads/{thread}/checkpoint': ['get'],
      '/v1/threads/{thread}/writes': ['post'],
      '/v1/threads/{thread}/blobs/{blob}': ['get', 'put'],
    }))
      for (const method of methods) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
  });
});

describe('bad input to /v1/threads: 400 InvalidInput, nothing written', () => {
  const good = {
    checkpoint: { id: 'c1', v: 4, channel_versions: { a: 1 } },
    metadata: { source: 'input' },
    new_channel_values: [{ channel: 'a', version: 1, value: { type: 'json', encoding: 'utf8', data: '1' } }],
  };
  const cases: Record<string, { method: string; path: string; body?: unknown; raw?: string; type?: string }> =
    {
      'a checkpoint without id': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        body: { ...good, checkpoint: { channel_versions: {} } },
      },
      'a checkpoint id with "/"': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        body: { ...good, checkpoint: { id: 'a/b', channel_versions: {} } },
      },
      'a checkpoint id of 129 characters': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        body: { ...good, checkpoint: { id: 'x'.repeat(129), channel_versions: {} } },
      },
      'a namespace of 257 characters': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        body: { ...good, checkpoint_ns: 'n'.repeat(257) },
      },
      'an unknown field': { method: 'PUT', path: '/v1/threads/bad/checkpoints', body: { ...good, extra: 1 } },
      'a value that is neither text nor a blob': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        body: { ...good, new_channel_values: [{ channel: 'a', version: 1, value: 'raw' }] },
      },
      'a blob that was never uploaded': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        body: {
          ...good,
          new_channel_values: [
            {
              channel: 'a',
              version: 1,
              value: { type: 'bytes', blob: '00000000-0000-4000-8000-000000000000', size_bytes: 3 },
            },
          ],
        },
      },
      'a negative TTL': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        body: { ...good, ttl_seconds: -1 },
      },
      'a body that is not JSON': {
        method: 'PUT',
        path: '/v1/threads/bad/checkpoints',
        raw: 'checkpoint',
        type: 'text/plain',
      },
      'a thread id of 257 characters': {
        method: 'PUT',
        path: `/v1/threads/${'t'.repeat(257)}/checkpoints`,
        body: good,
      },
      'no writes': {
        method: 'POST',
        path: '/v1/threads/bad/writes',
        body: { checkpoint_id: 'c1', task_id: 't', writes: [] },
      },
      'writes without a checkpoint id': {
        method: 'POST',
        path: '/v1/threads/bad/writes',
        body: { task_id: 't', writes: [{ idx: 0, channel: 'a', value: good.new_channel_values[0]?.value }] },
      },
      'a blob sent as JSON': {
        method: 'PUT',
        path: '/v1/threads/bad/blobs/00000000-0000-4000-8000-000000000000',
        body: { bytes: 1 },
      },
      'a blob id that is not a uuid': {
        method: 'PUT',
        path: '/v1/threads/bad/blobs/not-a-uuid',
        raw: 'x',
        type: 'application/octet-stream',
      },
      'a copy without a target': { method: 'POST', path: '/v1/threads/bad/copy', body: {} },
      'a list filter that is not JSON': { method: 'GET', path: '/v1/threads/bad/checkpoints?filter=source' },
      'a list limit of 0': { method: 'GET', path: '/v1/threads/bad/checkpoints?limit=0' },
      'a thread page limit of 1001': { method: 'GET', path: '/v1/threads?limit=1001' },
    };
  for (const [name, { method, path, body, raw, type }] of Object.entries(cases))
    it(name, async () => {
      const res = await w.api.request(method, path, body, {
        token,
        ...(raw === undefined ? {} : { rawBody: raw }),
        ...(type === undefined ? {} : { headers: { 'content-type': type } }),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('InvalidInput');
      expect((await w.api.request('GET', '/v1/threads/bad/checkpoints', undefined, { token })).body).toEqual({
        checkpoints: [],
      });
      const threads = (await w.api.request('GET', '/v1/threads?limit=1000', undefined, { token })).body
        .threads;
      expect(threads.map((t: { thread_id: string }) => t.thread_id)).not.toContain('bad');
    });
});
