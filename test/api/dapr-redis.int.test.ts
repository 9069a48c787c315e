import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { capabilityApiSuite } from '../../src/testing/api/capability-suite.ts';
import { startDaprBackedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';
import { describeWithDapr, startRedis, type RedisServer } from '../../src/testing/harness/index.ts';

describeWithDapr('the state API on daprd + Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  capabilityApiSuite('daprd + Redis', (env) => startDaprBackedTestWorker(redis, env));
});

const run = promisify(execFile);

describeWithDapr('the state API on daprd when Redis fails', () => {
  let redis: RedisServer;
  let w: TestWorker;
  beforeAll(async () => {
    redis = await startRedis();
    w = await startDaprBackedTestWorker(redis);
  }, 120_000);
  afterAll(async () => {
    await w?.close();
    await redis?.stop();
  });

  const redisCli = (...args: string[]) =>
    run('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), ...args]).then(({ stdout }) =>
      stdout.trim(),
    );

  it('answers DatabaseError with the retry hint when Redis refuses reads and writes', async () => {
    const token = await w.token('t1', 'a1');
    expect((await w.api.call('state.persistent.set', { key: 'k', value: 1 }, { token })).status).toBe(200);
    expect(
      (await w.api.call('state.shared.set', { key: 'k', value: 1, expected_version: 0 }, { token })).status,
    ).toBe(200);
    // The server answers, with an error: what DatabaseError means (an unreachable one is Unavailable).
    expect(await redisCli('ACL', 'SETUSER', 'default', '-@read', '-@write', '+ping')).toBe('OK');
    try {
      for (const [name, input] of [
        ['state.persistent.list', {}],
        ['state.persistent.query', { prefix: '' }],
        ['state.shared.list', {}],
        ['state.persistent.set', { key: 'k', value: 2 }],
      ] as const) {
        const res = await w.api.call(name, input, { token });
        expect(res.body?.error?.code, `${name}: ${JSON.stringify(res.body)}`).toBe('DatabaseError');
        expect(res.status).toBe(502);
        expect(res.body.error.recovery.map((hint: { action: string }) => hint.action)).toContain('retry');
      }
    } finally {
      await redisCli('ACL', 'SETUSER', 'default', '+@all');
    }
  });

  it('answers Unavailable with the retry hint when Redis is gone', async () => {
    const token = await w.token('t1', 'a1');
    await redis.stop();
    const res = await w.api.call('state.persistent.list', {}, { token });
    expect(res.body?.error?.code, JSON.stringify(res.body)).toBe('Unavailable');
    expect(res.status).toBe(503);
    expect(res.body.error.recovery.map((hint: { action: string }) => hint.action)).toContain('retry');
  });
});
