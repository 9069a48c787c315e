import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { recordingWrites } from '../../testing/kv-spies.ts';
import { createActivityTracker } from './activity.ts';

let kv: KvStore;
beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
});
afterEach(async () => kv.close());

const at = (second: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, second));

describe('agent activity', () => {
  it('writes nothing when a call is noted, and one record per agent when flushed', async () => {
    const { store, written } = recordingWrites(kv);
    const tracker = createActivityTracker(store);
    for (let i = 0; i < 100; i++) tracker.touch('t1', 'a1', at(i), 's1');
    tracker.touch('t1', 'a2', at(5));
    expect(written).toEqual([]);
    // Readers of this worker see the news before it is flushed.
    expect(await tracker.lastActivity('t1', 'a1')).toBe(at(99).toISOString());
    await tracker.flush();
    expect(written.filter((key) => key.startsWith('t1/activity/a/')).sort()).toEqual([
      't1/activity/a/a1',
      't1/activity/a/a2',
    ]);
    // Nothing new: a second flush writes nothing.
    written.length = 0;
    await tracker.flush();
    expect(written).toEqual([]);
  });

  it('converges on the latest activity whichever worker flushes last, and lists the agents', async () => {
    const early = createActivityTracker(kv);
    const late = createActivityTracker(kv);
    late.touch('t1', 'a1', at(30), 's2');
    early.touch('t1', 'a1', at(10), 's1');
    await late.flush();
    await early.flush();
    const fresh = createActivityTracker(kv);
    expect(await fresh.lastActivity('t1', 'a1')).toBe(at(30).toISOString());
    fresh.touch('t1', 'a3', at(40));
    expect(await fresh.agents('t1')).toEqual([
      { agent: 'a1', last_activity: at(30).toISOString(), sessions: ['s2'] },
      { agent: 'a3', last_activity: at(40).toISOString(), sessions: [] },
    ]);
    expect(await fresh.agents('t2')).toEqual([]);
  });
});
