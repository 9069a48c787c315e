import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/embedded/memory-event-bus.ts';
import type { Json } from '../../core/json.ts';
import { assertSharedInvariants } from '../../core/state/shared-invariants.ts';
import { SharedModel, type UncertainSharedOperation } from '../../core/state/shared-model.ts';
import { createSharedState, type SharedState } from '../../core/state/shared-state.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, InjectedCrash, type FaultyKvStore } from '../faulty-kv-store.ts';
import { collectSharedEvents, type SharedEventsCollector } from '../shared-events-collector.ts';
import {
  crashAtEveryOperation,
  suiteTitle,
  uniqueTenant,
  type CrashStore,
  type CrashTarget,
} from './crash-target.ts';

// Correctness with single-key CAS alone, proven: a fault-injecting store stops "the process" after the Nth store
// operation of a capability, for every N, with the cut-off write lost or applied; after
// recovery and the next operations, the invariants hold — events and audit included.

// Longer than a crashed writer's grace period, after which others finish its work.
const RESTART_MS = 2000;

/** One tenant's shared state on the fault-injecting store, and what the test knows of it. */
interface Harness {
  /** The store itself, past the fault injector. */
  readonly kv: KvStore;
  readonly faulty: FaultyKvStore;
  readonly tenant: string;
  readonly state: SharedState;
  readonly model: SharedModel;
  /** A set by `agent` that expects the state the model knows. */
  set(agent: string, key: string, value: Json): Promise<void>;
  delete(agent: string, key: string): Promise<void>;
}

interface Scenario {
  /** Names the scenario's tenants. */
  readonly id: string;
  readonly name: string;
  readonly quotaBytes?: number;
  readonly key: string;
  readonly operation: UncertainSharedOperation;
  /** Acknowledged writes before the crash. */
  seed(harness: Harness): Promise<void>;
  /** Whether the invariants must hold right after recovery, before any other write. */
  readonly consistentAfterRecovery: boolean;
  /** Store operations the capability takes at least, so the test provably crashes at each. */
  readonly minimumOperations: number;
}

const scenarios: Scenario[] = [
  {
    id: 'set-new',
    name: 'set that creates a key',
    key: 'k',
    operation: { op: 'set', agent: 'writer', value: { step: 1 } },
    seed: (h) => h.set('seeder', 'other', 'x'),
    consistentAfterRecovery: true,
    minimumOperations: 12,
  },
  {
    id: 'set-existing',
    name: 'set that updates a key',
    key: 'k',
    operation: { op: 'set', agent: 'writer', value: { step: 3, grown: 'yes' } },
    seed: async (h) => {
      await h.set('seeder', 'k', { step: 1 });
      await h.set('seeder', 'k', { step: 2 });
    },
    consistentAfterRecovery: true,
    minimumOperations: 9,
  },
  {
    id: 'set-recreate',
    name: 'set that creates a deleted key again',
    key: 'k',
    operation: { op: 'set', agent: 'writer', value: 'again' },
    seed: async (h) => {
      for (const value of ['one', 'two', 'three']) await h.set('seeder', 'k', value);
      await h.delete('seeder', 'k');
    },
    consistentAfterRecovery: true,
    minimumOperations: 12,
  },
  {
    id: 'delete',
    name: 'delete',
    key: 'k',
    operation: { op: 'delete', agent: 'deleter' },
    seed: async (h) => {
      for (const value of ['one', 'two']) await h.set('seeder', 'k', value);
      await h.set('seeder', 'other', 'x');
    },
    consistentAfterRecovery: true,
    minimumOperations: 11,
  },
  {
    // The counter has drifted to say the quota is full, so the set recounts (and rewrites
    // it) first, while another key's write crashed after its commit with its intent pending.
    id: 'set-recount',
    name: 'set that recounts a drifted quota counter',
    quotaBytes: 64,
    key: 'k',
    operation: { op: 'set', agent: 'writer', value: 'fits' },
    seed: async (h) => {
      await h.set('seeder', 'other', 'x'.repeat(10));
      await crashAfterCommit(h, 'pending', 'y'.repeat(10));
      await h.kv.save(`${h.tenant}/shared/u`, { bytes: 64, applied: [] });
    },
    // Until a recount lands, the drift is still there; the next write near the quota removes it.
    consistentAfterRecovery: false,
    minimumOperations: 16,
  },
];

/**
 * Shared state's crash-injection tests on one store: every scenario crashes at every
 * store operation of its set or delete. Events go through an in-process bus: what is
 * under test is the store, and the invariants check what was published on it.
 */
export function sharedCrashSuite(target: CrashTarget): void {
  const timeout = target.testTimeoutMs ?? 60_000;

  describe.skipIf(target.skip !== undefined)(suiteTitle('shared state', target), () => {
    let bus: EventBus;
    let events: SharedEventsCollector;
    let store: CrashStore;
    let run: string;
    let clock: number;
    const now = () => new Date(++clock);

    beforeAll(async () => {
      bus = createMemoryEventBus();
      events = await collectSharedEvents(bus, { quietMs: 2 });
    });
    afterAll(async () => {
      await events?.close();
      await bus?.close();
    });
    beforeEach(async () => {
      clock = Date.parse('2030-01-01T00:00:00.000Z');
      // Every crash point's tenant starts with this test's own prefix.
      run = uniqueTenant('shared');
      store = await target.open(() => clock);
    });
    afterEach(() => store.close());

    /** Runs the scenario with a crash after `crashAt` store operations; answers whether it crashed. */
    async function crashOnce(
      scenario: Scenario,
      crashAt: number,
      applyCutOffWrite: boolean,
    ): Promise<boolean> {
      const tenant = `${run}-${scenario.id}-${crashAt}-${applyCutOffWrite ? 'applied' : 'lost'}`;
      const harness = createHarness(store.kv, bus, tenant, now, scenario.quotaBytes);
      const { kv, faulty, state, model } = harness;
      const { key, operation } = scenario;
      await scenario.seed(harness);
      const check = () =>
        assertSharedInvariants(kv, bus, tenant, model, { published: () => events.published() });

      faulty.crashAfter(crashAt, { applyCutOffWrite });
      let crashed = false;
      try {
        if (operation.op === 'set') await harness.set(operation.agent, key, operation.value);
        else await harness.delete(operation.agent, key);
      } catch (error) {
        if (!(error instanceof InjectedCrash)) throw error;
        crashed = true;
      }
      faulty.recover();
      // The process restarts; by the time anyone meets what it left, its grace period is over.
      clock += RESTART_MS;

      if (crashed) model.observe(key, await state.get(key), operation);
      if (scenario.consistentAfterRecovery) await check();
      // The next writers finish whatever the crash left, and find the key as acknowledged.
      await harness.set('next', key, { after: crashAt });
      await check();
      await harness.delete('next', key);
      await harness.set('next', key, 'last');
      await check();
      return crashed;
    }

    describe('crash injection', () => {
      for (const scenario of scenarios) {
        it(
          `${scenario.name}: invariants hold after a crash at every store operation`,
          () =>
            crashAtEveryOperation(
              `${target.name}: ${scenario.name}`,
              scenario.minimumOperations,
              (crashAt, applyCutOffWrite) => crashOnce(scenario, crashAt, applyCutOffWrite),
            ),
          timeout,
        );
      }
    });
  });
}

/**
 * Sets `key` so that the process dies right after the head commit, before any of its
 * follow-ups, and records the write (it is committed) in the model.
 */
async function crashAfterCommit(h: Harness, key: string, value: Json): Promise<void> {
  const headKey = `${h.tenant}/shared/h/${key}`;
  for (let operations = 1; (await h.kv.get(headKey)) === undefined; operations++) {
    h.faulty.crashAfter(operations, { applyCutOffWrite: true });
    await expect(h.state.set('crasher', key, value, 0)).rejects.toBeInstanceOf(InjectedCrash);
    h.faulty.recover();
  }
  expect((await h.kv.get(headKey))?.value).toHaveProperty('pending');
  h.model.acknowledgeSet('crasher', key, value, { version: 1 });
}

/** Shared state on `kv` behind a fault injector, with a model fed by every answer. */
function createHarness(
  kv: KvStore,
  bus: EventBus,
  tenant: string,
  now: () => Date,
  quotaBytes: number | undefined,
): Harness {
  const faulty = createFaultyKvStore(kv);
  const state = createSharedState(faulty, bus, {
    tenant,
    now,
    ...(quotaBytes === undefined ? {} : { quotaBytes }),
  });
  const model = new SharedModel();
  return {
    kv,
    faulty,
    tenant,
    state,
    model,
    async set(agent, key, value) {
      model.acknowledgeSet(agent, key, value, await state.set(agent, key, value, model.versionOf(key)));
    },
    async delete(agent, key) {
      await state.delete(agent, key);
      model.acknowledgeDelete(agent, key);
    },
  };
}
