import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { expectAppError } from '../../testing/conformance/assertions.ts';
import { countingCalls } from '../../testing/kv-spies.ts';
import { createEngineRuntime } from '../engine/engine-runtime.ts';
import { keyRegistry } from './key-registry.ts';
import { tenantDirectory } from './tenant-directory.ts';

let kv: KvStore;
let counting: ReturnType<typeof countingCalls>;

beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
  counting = countingCalls(kv);
});
afterEach(() => kv.close());

async function all(names: AsyncIterable<string>): Promise<string[]> {
  const listed: string[] = [];
  for await (const name of names) listed.push(name);
  return listed;
}

/** The store calls `call` made. */
async function callsOf(call: () => Promise<unknown>): Promise<number> {
  counting.reset();
  await call();
  return counting.counts().calls;
}

describe('key registry', () => {
  it('writes a name the first time ever, reads it once per worker after, and nothing once known', async () => {
    const first = createEngineRuntime();
    expect(await callsOf(() => keyRegistry(counting.store, 'ns/', first).register('a'))).toBeGreaterThan(1);
    expect(await callsOf(() => keyRegistry(counting.store, 'ns/', first).register('a'))).toBe(0);
    // Another worker: the name is in the store, so one read and no write.
    const second = createEngineRuntime();
    counting.reset();
    await keyRegistry(counting.store, 'ns/', second).register('a');
    expect(counting.counts().byMethod).toEqual({ get: 1 });
    expect(await callsOf(() => keyRegistry(counting.store, 'ns/', second).register('a'))).toBe(0);
  });

  it('lists every name sorted, across pages, and keeps namespaces apart', async () => {
    const runtime = createEngineRuntime();
    const names = Array.from({ length: 1100 }, (_, i) => `n-${String(1099 - i).padStart(4, '0')}`);
    const registry = keyRegistry(kv, 'big/', runtime);
    for (const name of names) await registry.register(name);
    await keyRegistry(kv, 'other/', runtime).register('elsewhere');
    expect(await all(keyRegistry(kv, 'big/', createEngineRuntime()).list())).toEqual([...names].sort());
    expect(await all(keyRegistry(kv, 'other/', runtime).list())).toEqual(['elsewhere']);
  });
});

describe('tenant directory', () => {
  it('lists each tenant once, sorted, whichever worker registered it', async () => {
    await tenantDirectory(kv, createEngineRuntime()).register('t2');
    await tenantDirectory(kv, createEngineRuntime()).register('t1');
    await tenantDirectory(kv, createEngineRuntime()).register('t2');
    expect(await all(tenantDirectory(kv).list())).toEqual(['t1', 't2']);
  });

  it('takes only tenant ids, and no tenant reaches its keys', async () => {
    await expectAppError(tenantDirectory(kv).register('_tenants'), 'InvalidInput');
    await expectAppError(tenantDirectory(kv).register('a/b'), 'InvalidInput');
    // A tenant's agent directory sits under the tenant's own prefix, never under `_tenants/`.
    await keyRegistry(kv, 'tenants/agents/').register('x');
    expect(await all(tenantDirectory(kv).list())).toEqual([]);
  });
});
