import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonByteLength, type Json } from '../../core/json.ts';
import { createEngineRuntime } from '../../core/engine/engine-runtime.ts';
import {
  assertPersistentDurable,
  assertPersistentInvariants,
  repairPersistent,
} from '../../core/state/persistent-invariants.ts';
import { PersistentModel, type UncertainOperation } from '../../core/state/persistent-model.ts';
import {
  createPersistentState,
  type PersistentState,
  type PersistentStateOptions,
} from '../../core/state/persistent-state.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, InjectedCrash, untilCrash, type FaultyKvStore } from '../faulty-kv-store.ts';
import {
  crashAtEveryOperation,
  suiteTitle,
  uniqueTenant,
  type CrashStore,
  type CrashTarget,
} from './crash-target.ts';

// A fault-injecting store stops "the process" after the Nth store operation of a
// capability, its background work included, for every N, with the cut-off write lost or
// applied, optionally while another writer works on the same namespace. Right after the
// crash the raw store must show every acknowledged write and list every live key (no
// repair); after the next worker's repair, every invariant holds.

type ScenarioOptions = Pick<PersistentStateOptions, 'retention' | 'quotaBytes'>;

/** One agent's persistent state on the fault-injecting store, and what the test knows of it. */
interface Harness {
  /** The store itself, past the fault injector. */
  readonly kv: KvStore;
  /** The current process's store; a crash kills it for good, `restart` makes the next. */
  readonly faulty: FaultyKvStore;
  readonly tenant: string;
  readonly agent: string;
  readonly state: PersistentState;
  readonly model: PersistentModel;
  set(key: string, value: Json): Promise<void>;
  delete(key: string): Promise<void>;
  /** Waits for the current process's background work. */
  settle(): Promise<void>;
  /** A new process: a fresh store wrapper and engine runtime; the dead one stays dead. */
  restart(): void;
}

interface Scenario {
  /** Names the scenario's agents. */
  readonly id: string;
  readonly name: string;
  readonly retention: number;
  readonly quotaBytes?: number;
  readonly key: string;
  readonly operation: UncertainOperation;
  /** Acknowledged writes before the crash. */
  seed(harness: Harness): Promise<void>;
  /** Another writer's work on other keys of the namespace, run while the crashing call runs. */
  readonly concurrent?: (writer: Harness) => Promise<void>;
  /** Store operations the capability and its background work take at least, so the test provably crashes at each. */
  readonly minimumOperations: number;
}

const scenarios: Scenario[] = [
  {
    id: 'set-new',
    name: 'set of a new key',
    retention: 100,
    key: 'k',
    operation: { op: 'set', value: { step: 1 } },
    seed: (h) => h.set('other', 'x'),
    minimumOperations: 6,
  },
  {
    id: 'set-existing',
    name: 'set of an existing key',
    retention: 100,
    key: 'k',
    operation: { op: 'set', value: { step: 3, grown: 'yes' } },
    seed: async (h) => {
      await h.set('k', { step: 1 });
      await h.set('k', { step: 2 });
    },
    minimumOperations: 4,
  },
  {
    id: 'set-prune',
    name: 'set that prunes history',
    retention: 3,
    key: 'k',
    operation: { op: 'set', value: 'five, and longer' },
    seed: async (h) => {
      for (const value of ['one', 'two', 'three', 'four']) await h.set('k', value);
    },
    minimumOperations: 4,
  },
  {
    id: 'set-recreate',
    name: 'set that re-creates a deleted key',
    retention: 3,
    key: 'k',
    operation: { op: 'set', value: 'again' },
    seed: async (h) => {
      for (const value of ['one', 'two', 'three', 'four']) await h.set('k', value);
      await h.delete('k');
    },
    minimumOperations: 6,
  },
  {
    id: 'delete',
    name: 'delete',
    retention: 3,
    key: 'k',
    operation: { op: 'delete' },
    seed: async (h) => {
      for (const value of ['one', 'two', 'three', 'four']) await h.set('k', value);
      await h.set('other', 'x');
    },
    minimumOperations: 8,
  },
  {
    id: 'set-new-concurrent',
    name: 'set of a new key while another writer creates, updates and deletes keys beside it',
    retention: 3,
    key: 'k',
    operation: { op: 'set', value: { step: 1 } },
    seed: async (h) => {
      await h.set('j', 'x');
      await h.set('l', 'y');
    },
    concurrent: async (writer) => {
      await writer.set('ka', 'beside');
      await writer.set('j', 'changed');
      await writer.delete('l');
    },
    minimumOperations: 6,
  },
  {
    id: 'delete-concurrent',
    name: 'delete while another writer re-creates and lists keys beside it',
    retention: 3,
    key: 'k',
    operation: { op: 'delete' },
    seed: async (h) => {
      for (const value of ['one', 'two']) await h.set('k', value);
      await h.set('j', 'x');
      await h.delete('j');
    },
    concurrent: async (writer) => {
      await writer.set('j', 'back');
      await writer.state.list();
      await writer.set('m', 'new');
    },
    minimumOperations: 8,
  },
];

/**
 * Persistent state's crash-injection tests on one store: every scenario crashes at every
 * store operation of its set or delete and of the background work that follows it.
 */
export function persistentCrashSuite(target: CrashTarget): void {
  const timeout = target.testTimeoutMs ?? 60_000;

  describe.skipIf(target.skip !== undefined)(suiteTitle('persistent state', target), () => {
    let store: CrashStore;
    let tenant: string;
    let clock: number;
    const now = () => new Date((clock += 1000));
    const harness = (agent: string, options: ScenarioOptions = {}) =>
      createHarness(store.kv, { tenant, agent, now, ...options });

    beforeEach(async () => {
      clock = Date.parse('2030-01-01T00:00:00.000Z');
      tenant = uniqueTenant('persistent');
      store = await target.open(() => clock);
    });
    afterEach(() => store.close());

    describe('crash injection', () => {
      for (const scenario of scenarios) {
        it(
          `${scenario.name}: nothing acknowledged is lost at every crash point, and repair restores every invariant`,
          () =>
            crashAtEveryOperation(
              `${target.name}: ${scenario.name}`,
              scenario.minimumOperations,
              (crashAt, applyCutOffWrite) =>
                crashOnce(
                  scenario,
                  harness(agentOf(scenario, crashAt, applyCutOffWrite), optionsOf(scenario)),
                  crashAt,
                  applyCutOffWrite,
                ),
              { alongsideWriter: scenario.concurrent !== undefined },
            ),
          timeout,
        );
      }
    });

    it(
      'a writer that dies after its commit leaves usage short until the recount, which makes it exact',
      async () => {
        const h = harness('recount');
        await h.set('other', 'x');
        await h.set('p', 'a');
        await h.settle();
        // An update is a head read and one commit: it dies right after the commit, so
        // its intent never reaches the shards.
        h.faulty.crashAfter(2, { applyCutOffWrite: true });
        await expect(h.state.set('p', 'pending')).rejects.toBeInstanceOf(InjectedCrash);
        await h.settle();
        h.restart();
        h.model.acknowledgeSet('p', 'pending', { version: 2, previous_version: 1 });
        expect(await h.state.usage()).toEqual({ bytes: 6 });
        await repairPersistent(store.kv, tenant, h.agent);
        expect(await h.state.usage()).toEqual({ bytes: 3 + jsonByteLength('pending') });
        await assertPersistentInvariants(store.kv, tenant, h.agent, h.model);
      },
      timeout,
    );
  });
}

function agentOf(scenario: Scenario, crashAt: number, applyCutOffWrite: boolean): string {
  return `${scenario.id}-${crashAt}-${applyCutOffWrite ? 'applied' : 'lost'}`;
}

function optionsOf(scenario: Scenario): ScenarioOptions {
  return {
    retention: scenario.retention,
    ...(scenario.quotaBytes === undefined ? {} : { quotaBytes: scenario.quotaBytes }),
  };
}

/** Runs the scenario with a crash after `crashAt` store operations; answers whether it crashed. */
async function crashOnce(
  scenario: Scenario,
  harness: Harness,
  crashAt: number,
  applyCutOffWrite: boolean,
): Promise<boolean> {
  const { kv, tenant, agent, model } = harness;
  const { retention, key, operation } = scenario;
  await scenario.seed(harness);
  await harness.settle();
  // The other writer is a process of its own, on the store itself.
  const writer = createHarness(kv, { tenant, agent, retention, now: () => new Date() }, model);

  harness.faulty.crashAfter(crashAt, { applyCutOffWrite });
  const call = untilCrash(() =>
    operation.op === 'set' ? harness.set(key, operation.value) : harness.delete(key),
  );
  await Promise.all([call, scenario.concurrent?.(writer)]);
  await Promise.all([harness.settle(), writer.settle()]);
  const crashed = harness.faulty.crashed;
  harness.restart();

  if (crashed) {
    const raw = await kv.get(`${tenant}/a/${agent}/p/h/${key}`);
    const head = raw?.value as { deleted?: true; value: Json; version: number } | undefined;
    model.observe(
      key,
      head === undefined || head.deleted === true
        ? undefined
        : { found: true, value: head.value, version: head.version, created_at: '', updated_at: '' },
      operation,
    );
  }
  // No repair yet: what a crash can never undo.
  await assertPersistentDurable(kv, tenant, agent, model, { retention });
  await repairPersistent(kv, tenant, agent, { retention });
  await assertPersistentInvariants(kv, tenant, agent, model, { retention });
  // The next writers find the key as acknowledged.
  await harness.set(key, { after: crashAt });
  await harness.delete(key);
  await harness.set(key, 'last');
  await harness.settle();
  await repairPersistent(kv, tenant, agent, { retention });
  await assertPersistentInvariants(kv, tenant, agent, model, { retention });
  return crashed;
}

/** Persistent state on `kv` behind a fault injector, with a model fed by every answer. */
function createHarness(kv: KvStore, options: PersistentStateOptions, model = new PersistentModel()): Harness {
  let faulty = createFaultyKvStore(kv);
  let runtime = createEngineRuntime(() => undefined);
  let state = createPersistentState(faulty, { ...options, runtime });
  return {
    kv,
    get faulty() {
      return faulty;
    },
    get state() {
      return state;
    },
    tenant: options.tenant,
    agent: options.agent,
    model,
    async set(key, value) {
      model.acknowledgeSet(key, value, await state.set(key, value));
    },
    async delete(key) {
      await state.delete(key);
      model.acknowledgeDelete(key);
    },
    settle: () => runtime.background.settle(),
    restart() {
      faulty = createFaultyKvStore(kv);
      runtime = createEngineRuntime(() => undefined);
      state = createPersistentState(faulty, { ...options, runtime });
    },
  };
}
