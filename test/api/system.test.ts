import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Json } from '../../src/core/json.ts';
import { NOTIFICATIONS_TOPIC } from '../../src/core/state/shared-events.ts';
import { systemApiSuite } from '../../src/testing/api/system-suite.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

systemApiSuite('embedded', (env) => startEmbeddedTestWorker(env));

let w: TestWorker;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
}, 60_000);
afterAll(async () => w?.close());

it('publishes a notification of each system snapshot (Notify)', async () => {
  const seen: Json[] = [];
  const subscription = await w.worker.adapters.bus.subscribe(NOTIFICATIONS_TOPIC, async (event) => {
    seen.push(event);
  });
  try {
    const created = await w.api.call('state.snapshot.create', {}, { token: await w.token('t1', 'agent-a') });
    expect(created.status).toBe(200);
    await expect
      .poll(() => seen)
      .toContainEqual(
        expect.objectContaining({
          kind: 'state.snapshot.create',
          tenant: 't1',
          agent: 'agent-a',
          snapshot_id: created.body.snapshot_id,
        }),
      );
  } finally {
    await subscription.close();
  }
});
