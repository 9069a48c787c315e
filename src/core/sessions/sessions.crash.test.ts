import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { sessionCrashSuite } from '../../testing/crash/index.ts';

// The scenarios are in src/testing/crash, shared with the daprd + Redis run (test/crash).
sessionCrashSuite({
  name: 'embedded',
  open: async (clock) => {
    // Expiry follows the test's clock, which runs ahead of real time.
    const kv = createSqliteKvStore({ path: ':memory:', now: clock });
    await kv.init();
    return { kv, close: () => kv.close() };
  },
});
