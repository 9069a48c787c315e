import { rm } from 'node:fs/promises';
import { emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateSaver } from '../../src/langgraph/index.ts';
import {
  agentstateComponents,
  startDaprBackedTestWorker,
  startEmbeddedTestWorker,
  type TestWorker,
} from '../../src/testing/api/test-worker.ts';
import {
  describeWithDapr,
  makeTempDir,
  postgresStateStore,
  startPostgres,
  startRedis,
} from '../../src/testing/harness/index.ts';
import { runValidationSuite, type SuiteOutcome } from './run-validation-suite.ts';

// Issue 10: LangGraph's official checkpointer validation suite, unmodified, against
// AgentStateSaver on a running worker, on each store.

const SUITE_TIMEOUT = 900_000;

function expectAllPassed(outcome: SuiteOutcome): void {
  expect(outcome.failures).toEqual([]);
  expect(outcome.skipped).toBe(0);
  // The suite's own count: hundreds of cases, every one of which ran and passed.
  expect(outcome.total).toBeGreaterThan(500);
  expect(outcome.passed).toBe(outcome.total);
}

async function operatorToken(w: TestWorker): Promise<string> {
  return w.token('validation', 'validator', ['operator']);
}

describe('LangGraph checkpoint validation: AgentStateSaver on the embedded store', () => {
  let w: TestWorker;
  beforeAll(async () => {
    w = await startEmbeddedTestWorker();
  });
  afterAll(async () => w?.close());

  it('passes every case', { timeout: SUITE_TIMEOUT }, async () => {
    expectAllPassed(await runValidationSuite('embedded', w.worker.url, await operatorToken(w)));
  });
});

describeWithDapr('LangGraph checkpoint validation: AgentStateSaver on daprd', () => {
  const stops: (() => Promise<void>)[] = [];
  const workers = new Map<string, TestWorker>();
  let sidecarPort = 0;

  beforeAll(async () => {
    const [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    stops.push(redis.stop, pg.stop);
    const onRedis = await startDaprBackedTestWorker(redis);
    stops.push(onRedis.close);
    sidecarPort = onRedis.sidecar.httpPort;
    workers.set('dapr-redis', onRedis);
    const dir = await makeTempDir('validation-pg');
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const components = (await agentstateComponents(redis, dir)).filter((c) => !c.includes('state.redis'));
    const onPostgres = await startDaprBackedTestWorker(
      redis,
      {},
      {
        sidecar: {
          components: [postgresStateStore('agentstate-state', pg, { version: 'v2' }), ...components],
        },
      },
    );
    stops.push(onPostgres.close);
    workers.set('dapr-postgresql', onPostgres);
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('reaches the worker through the local sidecar by app id', async () => {
    const w = workers.get('dapr-redis') as TestWorker;
    const saver = new AgentStateSaver({
      daprAppId: 'agentstate',
      token: await w.token('validation', 'through-sidecar'),
      env: { DAPR_HTTP_PORT: String(sidecarPort) },
    });
    const checkpoint = {
      ...emptyCheckpoint(),
      id: uuid6(-1),
      channel_values: { a: 'A' },
      channel_versions: { a: 1 },
    };
    const config = await saver.put(
      { configurable: { thread_id: 'by-app-id' } },
      checkpoint,
      { source: 'input', step: -1, parents: {} },
      { a: 1 },
    );
    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint.channel_values).toEqual({ a: 'A' });
    await saver.deleteThread('by-app-id');
    expect(await saver.getTuple(config)).toBeUndefined();
  });

  for (const backend of ['dapr-redis', 'dapr-postgresql'])
    it(`passes every case on ${backend}`, { timeout: SUITE_TIMEOUT }, async () => {
      const w = workers.get(backend) as TestWorker;
      const ready = (await w.api.request('GET', '/readyz')).body as { adapters: { kv: string } };
      expect(ready.adapters.kv).toBe(backend);
      expectAllPassed(await runValidationSuite(backend, w.worker.url, await operatorToken(w)));
    });
});
