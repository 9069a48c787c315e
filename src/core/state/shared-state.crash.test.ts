import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { sharedCrashSuite, type CrashTarget } from '../../testing/crash/index.ts';
import { insertingOnMissingKey } from '../../testing/inserting-cas-kv-store.ts';

// The scenarios are in src/testing/crash, shared with the daprd + Redis run (test/crash).

const embedded: CrashTarget = {
  name: 'embedded',
  open: async () => {
    const kv = createSqliteKvStore({ path: ':memory:' });
    await kv.init();
    return { kv, close: () => kv.close() };
  },
};

sharedCrashSuite(embedded);

// The same with Redis' answer to an ETag write to a missing key (it inserts), which is
// where single-key CAS designs usually break on daprd + Redis.
sharedCrashSuite({
  name: 'Redis-like CAS',
  open: async (clock) => {
    const { kv, close } = await embedded.open(clock);
    return { kv: insertingOnMissingKey(kv), close };
  },
});
