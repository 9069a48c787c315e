import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { persistentCrashSuite } from '../../testing/crash/index.ts';

// The scenarios are in src/testing/crash, shared with the daprd + Redis run (test/crash).
persistentCrashSuite({
  name: 'embedded',
  open: async () => {
    const kv = createSqliteKvStore({ path: ':memory:' });
    await kv.init();
    return { kv, close: () => kv.close() };
  },
});
