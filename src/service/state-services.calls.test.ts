import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultLimits } from '../config.ts';
import {
  createEnvFileSecretSource,
  createFolderBlobStore,
  createMemoryEventBus,
} from '../adapters/embedded/index.ts';
import type { StateServices } from '../capabilities/state-services.ts';
import { agentDirectory } from '../core/state/agent-directory.ts';
import { createPersistentState } from '../core/state/persistent-state.ts';
import { createSharedState } from '../core/state/shared-state.ts';
import { openCountedStore, type CountedStore } from '../testing/counted-store.ts';
import type { Adapters } from './adapters.ts';
import { createStateServices } from './state-services.ts';

// The directories a backup enumerates (agents of a tenant, tenants) cost nothing on the
// acknowledged path of a write once the worker knows the writer: the services' writes
// make exactly the store calls of the plain state beneath them (whose own counts
// `persistent-state.calls.test.ts` pins). Background work is held, as there.

let counted: CountedStore;
let services: StateServices;
const callsOf = (call: () => Promise<unknown>) => counted.callsOf(call);

beforeEach(async () => {
  counted = await openCountedStore();
  const adapters: Adapters = {
    family: 'embedded',
    kv: counted.store,
    blobs: createFolderBlobStore({ root: '/nonexistent/agentstate-calls' }),
    bus: createMemoryEventBus(),
    secrets: createEnvFileSecretSource({ env: {} }),
  };
  await adapters.bus.init();
  services = createStateServices(adapters, defaultLimits);
});
afterEach(() => counted.close());

describe('state services: store calls of writes once the worker knows the writer', () => {
  it('a persistent write costs what the plain state costs, also for a new agent of a known tenant', async () => {
    const plain = createPersistentState(counted.store, {
      tenant: 't1',
      agent: 'a1',
      retention: 100,
      quotaBytes: 100 * 1024 * 1024,
    });
    await services.persistent('t1', 'a1').set('seed', 'x');
    for (const [key, value] of [
      ['k', 1],
      ['k', 'a longer value'],
    ] as const) {
      const expected = await callsOf(() => plain.set(`plain-${key}`, value));
      expect(await callsOf(() => services.persistent('t1', 'a1').set(key, value))).toEqual(expected);
    }
    expect(await callsOf(() => services.persistent('t1', 'a1').load([{ key: 'bulk', value: 1 }]))).toEqual(
      await callsOf(() => plain.load([{ key: 'plain-bulk', value: 1 }])),
    );
    // A new agent of a known tenant pays for its own directory entry only, nothing for the tenant.
    const first = await callsOf(() => services.persistent('t1', 'a2').set('seed', 'x'));
    const plainFirst = await callsOf(() =>
      createPersistentState(counted.store, { tenant: 't1', agent: 'a3' }).set('seed', 'x'),
    );
    const entry = await callsOf(() => agentDirectory(counted.store, 't1').register('a4'));
    expect(first.calls).toBe(plainFirst.calls + entry.calls);
  });

  it('a shared write costs what the plain shared state costs', async () => {
    const plain = createSharedState(counted.store, createMemoryEventBus(), { tenant: 't1' });
    await services.shared('t1').set('a1', 'seed', 'x', 0);
    const expected = await callsOf(() => plain.set('a1', 'plain-k', 1, 0));
    expect(await callsOf(() => services.shared('t1').set('a1', 'k', 1, 0))).toEqual(expected);
    expect(await callsOf(() => services.shared('t1').set('a1', 'k', 2, 1))).toEqual(
      await callsOf(() => plain.set('a1', 'plain-k', 2, 1)),
    );
    const item = { value: 1, meta: { owner_agent: 'a1' } };
    expect(await callsOf(() => services.shared('t1').load([{ key: 'bulk', ...item }]))).toEqual(
      await callsOf(() => plain.load([{ key: 'plain-bulk', ...item }])),
    );
  });
});
