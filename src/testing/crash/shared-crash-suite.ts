import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/embedded/memory-event-bus.ts';
import type { Json } from '../../core/json.ts';
import { readRawNamespace } from '../../core/engine/engine-invariants.ts';
import { createEngineRuntime } from '../../core/engine/engine-runtime.ts';
import { isLive } from '../../core/engine/head-record.ts';
import {
  assertSharedDurable,
  assertSharedInvariants,
  repairShared,
} from '../../core/state/shared-invariants.ts';
import { sharedNamespace } from '../../core/state/shared-keys.ts';
import { sharedMetaOf } from '../../core/state/shared-records.ts';
import type { SharedGetResult } from '../../core/state/shared-schemas.ts';
import { SharedModel, type UncertainSharedOperation } from '../../core/state/shared-model.ts';
import { createSharedState, type SharedState } from '../../core/state/shared-state.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, untilCrash, type FaultyKvStore } from '../faulty-kv-store.ts';
import { collectSharedEvents, type SharedEventsCollector } from '../shared-events-collector.ts';
import {
  crashAtEveryOperation,
  suiteTitle,
  uniqueTenant,
  type CrashStore,
  type CrashTarget,
} from './crash-target.ts';

// A fault-injecting store stops "the process" after the Nth store
// operation of a capability, its background work (events, audit, usage) included, for
// every N, with the cut-off write lost or applied, optionally while another writer works
// on the same tenant. Right after the crash the raw store must show every acknowledged
// write and every committed change published or recorded on its head (no repair); after
// the next worker's repair, every invariant holds, events and audit included.

// Longer than a crashed writer's grace period, after which others finish its work.
const RESTART_MS = 2000;

/** One tenant's shared state on the fault-injecting store, and what the test knows of it. */
interface Harness {
  /** The store itself, past the fault injector. */
  readonly kv: KvStore;
  /** The current process's store; a crash kills it for good, `restart` makes the next. */
  readonly faulty: FaultyKvStore;
  readonly tenant: string;
  readonly state: SharedState;
  readonly model: SharedModel;
  /** A set by `agent` that expects the state the model knows. */
  set(agent: string, key: string, value: Json): Promise<void>;
  delete(agent: string, key: string): Promise<void>;
  /** Waits for the current process's background work. */
  settle(): Promise<void>;
  /** A new process: a fresh store wrapper and engine runtime; the dead one stays dead. */
  restart(): void;
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
  /** Another writer's work on other keys of the tenant, run while the crashing call runs. */
  readonly concurrent?: (writer: Harness) => Promise<void>;
  /** Store operations the capability and its background work take at least, so the test provably crashes at each. */
  readonly minimumOperations: number;
}

const scenarios: Scenario[] = [
  {
    id: 'set-new',
    name: 'set that creates a key',
    key: 'k',
    operation: { op: 'set', agent: 'writer', value: { step: 1 } },
    seed: (h) => h.set('seeder', 'other', 'x'),
    minimumOperations: 10,
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
    minimumOperations: 8,
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
    minimumOperations: 10,
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
    minimumOperations: 13,
  },
  {
    id: 'set-new-concurrent',
    name: 'set that creates a key while another writer creates, updates and deletes keys beside it',
    key: 'k',
    operation: { op: 'set', agent: 'writer', value: { step: 1 } },
    seed: async (h) => {
      await h.set('seeder', 'j', 'x');
      await h.set('seeder', 'l', 'y');
    },
    concurrent: async (w) => {
      await w.set('other', 'ka', 'beside');
      await w.set('other', 'j', 'changed');
      await w.delete('other', 'l');
    },
    // With a writer beside it, the count depends on the interleaving: 13 on embedded, 11
    // measured on daprd + Redis.
    minimumOperations: 9,
  },
  {
    id: 'delete-concurrent',
    name: 'delete while another writer re-creates and lists keys beside it',
    key: 'k',
    operation: { op: 'delete', agent: 'deleter' },
    seed: async (h) => {
      for (const value of ['one', 'two']) await h.set('seeder', 'k', value);
      await h.set('seeder', 'j', 'x');
      await h.delete('seeder', 'j');
    },
    concurrent: async (w) => {
      await w.set('other', 'j', 'back');
      await w.state.list();
      await w.set('other', 'm', 'new');
    },
    // As above, with a writer beside it.
    minimumOperations: 10,
  },
];

/**
 * Shared state's crash-injection tests on one store: every scenario crashes at every
 * store operation of its set or delete and of the background work that follows it.
 * Events go through an in-process bus: what is under test is the store, and the
 * invariants check what was published on it.
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
      const { kv, model } = harness;
      const { key, operation } = scenario;
      await scenario.seed(harness);
      await harness.settle();
      // The other writer is a process of its own, on the store itself, with the same model.
      const writer = createHarness(kv, bus, tenant, now, scenario.quotaBytes, model);
      const published = () => events.published();
      // The in-process bus delivers in publication order, so the order is checked too.
      const ordered = true;

      harness.faulty.crashAfter(crashAt, { applyCutOffWrite });
      const call = untilCrash(() =>
        operation.op === 'set'
          ? harness.set(operation.agent, key, operation.value)
          : harness.delete(operation.agent, key),
      );
      await Promise.all([call, scenario.concurrent?.(writer)]);
      await Promise.all([harness.settle(), writer.settle()]);
      const crashed = harness.faulty.crashed;
      harness.restart();
      // The process restarts; by the time anyone meets what it left, its grace period is over.
      clock += RESTART_MS;

      if (crashed) model.observe(key, await rawAnswer(kv, tenant, key), operation);
      // No repair yet: what a crash can never undo.
      await assertSharedDurable(kv, tenant, model, { published });
      await repairShared(kv, bus, tenant);
      await assertSharedInvariants(kv, bus, tenant, model, { published, ordered });
      // The next writers find the key as acknowledged.
      await harness.set('next', key, { after: crashAt });
      await harness.delete('next', key);
      await harness.set('next', key, 'last');
      await harness.settle();
      await assertSharedInvariants(kv, bus, tenant, model, { published, ordered });
      return crashed;
    }

    describe('crash injection', () => {
      for (const scenario of scenarios) {
        it(
          `${scenario.name}: nothing acknowledged is lost at every crash point, and repair restores every invariant`,
          () =>
            crashAtEveryOperation(
              `${target.name}: ${scenario.name}`,
              scenario.minimumOperations,
              (crashAt, applyCutOffWrite) => crashOnce(scenario, crashAt, applyCutOffWrite),
              { alongsideWriter: scenario.concurrent !== undefined },
            ),
          timeout,
        );
      }
    });
  });
}

/** What `get` would answer for `key`, read from the raw head (no roll-forward, no repair). */
async function rawAnswer(kv: KvStore, tenant: string, key: string): Promise<SharedGetResult> {
  const head = (await readRawNamespace(kv, sharedNamespace(tenant), [key])).heads.get(key);
  if (head === undefined || !isLive(head))
    return { value: null, version: 0, found: false, owner_agent: null, updated_at: null };
  return {
    value: head.value,
    version: head.version,
    found: true,
    owner_agent: sharedMetaOf(head.meta, key).owner_agent,
    updated_at: head.updated_at,
  };
}

/** Shared state on `kv` behind a fault injector, with a model fed by every answer. */
function createHarness(
  kv: KvStore,
  bus: EventBus,
  tenant: string,
  now: () => Date,
  quotaBytes: number | undefined,
  model = new SharedModel(),
): Harness {
  const open = () => {
    const faulty = createFaultyKvStore(kv);
    const runtime = createEngineRuntime(() => undefined);
    const state = createSharedState(faulty, bus, {
      tenant,
      now,
      runtime,
      ...(quotaBytes === undefined ? {} : { quotaBytes }),
    });
    return { faulty, runtime, state };
  };
  let process = open();
  return {
    kv,
    get faulty() {
      return process.faulty;
    },
    get state() {
      return process.state;
    },
    tenant,
    model,
    async set(agent, key, value) {
      model.acknowledgeSet(
        agent,
        key,
        value,
        await process.state.set(agent, key, value, model.versionOf(key)),
      );
    },
    async delete(agent, key) {
      await process.state.delete(agent, key);
      model.acknowledgeDelete(agent, key);
    },
    settle: () => process.runtime.background.settle(),
    restart() {
      process = open();
    },
  };
}
