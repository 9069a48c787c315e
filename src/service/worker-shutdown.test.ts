import { afterEach, expect, it, vi } from 'vitest';
import { RECOUNT_AFTER_IDLE_MS } from '../core/engine/usage-shards.ts';
import { startEmbeddedTestWorker } from '../testing/api/test-worker.ts';

afterEach(() => {
  vi.useRealTimers();
});

it('leaves no background work behind that would meet the closed store after close', async () => {
  const test = await startEmbeddedTestWorker();
  const token = await test.token('acme', 'bot', ['agent']);
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    // setTimeout is faked from the write on, so that the idle recount it schedules comes due at once.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const written = await test.api.request('PUT', '/v1/agents/bot/state/k', { n: 1 }, { token });
    expect(written.status, JSON.stringify(written.body)).toBe(200);
    await test.close();
    await vi.advanceTimersByTimeAsync(2 * RECOUNT_AFTER_IDLE_MS);
    vi.useRealTimers();
    // A failed background task's warning is emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  expect(warnings).toEqual([]);
});
