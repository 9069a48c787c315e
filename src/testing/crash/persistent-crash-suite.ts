import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../core/errors.ts';
import { jsonByteLength, type Json } from '../../core/json.ts';
import { assertPersistentInvariants } from '../../core/state/persistent-invariants.ts';
import { PersistentModel, type UncertainOperation } from '../../core/state/persistent-model.ts';
import {
  createPersistentState,
  type PersistentState,
  type PersistentStateOptions,
} from '../../core/state/persistent-state.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, InjectedCrash, type FaultyKvStore } from '../faulty-kv-store.ts';
import {
  crashAtEveryOperation,
  suiteTitle,
  uniqueTenant,
  type CrashStore,
  type CrashTarget,
} from './crash-target.ts';

// DESIGN.md section 2: a fault-injecting store stops "the process" after the Nth store
// operation of a capability, for every N, with the cut-off write lost or applied; after
// recovery and the next operations, the invariants hold.

type ScenarioOptions = Pick<PersistentStateOptions, 'retention' | 'quotaBytes'>;

/** One agent's persistent state on the fault-injecting store, and what the test knows of it. */
interface Harness {
  /** The store itself, past the fault injector. */
  readonly kv: KvStore;
  readonly faulty: FaultyKvStore;
  readonly tenant: string;
  readonly agent: string;
  readonly state: PersistentState;
  readonly model: PersistentModel;
  set(key: string, value: Json): Promise<void>;
  delete(key: string): Promise<void>;
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
  /** Whether the invariants must hold right after recovery, before any other write. */
  readonly consistentAfterRecovery: boolean;
  /** Store operations the capability takes at least, so the test provably crashes at each. */
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
    consistentAfterRecovery: true,
    minimumOperations: 11,
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
    consistentAfterRecovery: true,
    minimumOperations: 7,
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
    consistentAfterRecovery: true,
    minimumOperations: 9,
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
    consistentAfterRecovery: true,
    minimumOperations: 11,
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
    consistentAfterRecovery: true,
    minimumOperations: 11,
  },
  {
    // The counter has drifted to say the quota is full, so the set recounts (and rewrites
    // it) first, while another key's write crashed after its commit with its intent pending.
    id: 'set-recount',
    name: 'set that recounts a drifted quota counter',
    retention: 100,
    quotaBytes: 64,
    key: 'k',
    operation: { op: 'set', value: 'fits' },
    seed: async (h) => {
      await h.set('other', 'x'.repeat(10));
      await crashAfterCommit(h, 'pending', 'y'.repeat(10));
      await h.kv.save(`${h.tenant}/a/${h.agent}/p/u`, { bytes: 64, applied: [] });
    },
    // Until a recount lands, the drift is still there; the next write near the quota removes it.
    consistentAfterRecovery: false,
    minimumOperations: 16,
  },
];

const reads: [string, (state: PersistentState) => Promise<unknown>][] = [
  ['get', (state) => state.get('p')],
  ['history', (state) => state.history('p')],
  ['list', (state) => state.list()],
  ['query', (state) => state.query({ prefix: '' })],
];

/**
 * Persistent state's crash-injection tests on one store: every scenario crashes at every
 * store operation of its set or delete, and readers roll forward what a crashed writer left.
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
          `${scenario.name}: invariants hold after a crash at every store operation`,
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
            ),
          timeout,
        );
      }
    });

    describe('readers roll forward what a crashed writer left', () => {
      it.each(reads)(
        '%s applies a pending intent to the usage counter and clears it',
        async (name, read) => {
          const h = harness(`read-${name}`);
          await h.set('other', 'x');
          await crashAfterCommit(h, 'p', 'pending');
          expect(await h.state.usage()).toEqual({ bytes: 3 });
          await read(h.state);
          expect(await h.state.usage()).toEqual({ bytes: 3 + jsonByteLength('pending') });
          expect((await store.kv.get(`${tenant}/a/${h.agent}/p/h/p`))?.value).not.toHaveProperty('pending');
        },
        timeout,
      );

      it.each(reads.slice(2))(
        '%s finishes a crashed delete',
        async (name, read) => {
          const { state, faulty, agent } = harness(`delete-${name}`, { retention: 3 });
          for (const value of [1, 2, 3]) await state.set('p', value);
          // Dies right after the tombstone commits: the index, counter and history are untouched.
          faulty.crashAfter(2, { applyCutOffWrite: true });
          await expect(state.delete('p')).rejects.toBeInstanceOf(InjectedCrash);
          faulty.recover();
          await read(state);
          expect(await state.usage()).toEqual({ bytes: 0 });
          const history = await store.kv.getBulk(
            [1, 2].map((v) => `${tenant}/a/${agent}/p/v/p/${String(v).padStart(12, '0')}`),
          );
          expect(history.size).toBe(0);
        },
        timeout,
      );
    });
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
  const { kv, faulty, tenant, agent, state, model } = harness;
  const { retention, key, operation } = scenario;
  await scenario.seed(harness);
  const check = () => assertPersistentInvariants(kv, tenant, agent, model, { retention });

  faulty.crashAfter(crashAt, { applyCutOffWrite });
  let crashed = false;
  try {
    if (operation.op === 'set') await harness.set(key, operation.value);
    else await harness.delete(key);
  } catch (error) {
    if (!(error instanceof InjectedCrash)) throw error;
    crashed = true;
  }
  faulty.recover();

  if (crashed) model.observe(key, await answerOf(state.get(key)), operation);
  if (scenario.consistentAfterRecovery) await check();
  // The next writers finish whatever the crash left, and find the key as acknowledged.
  await harness.set(key, { after: crashAt });
  await check();
  await harness.delete(key);
  await harness.set(key, 'last');
  await check();
  return crashed;
}

/**
 * Sets `key` so that the process dies right after the head commit, before the intent
 * reaches the usage counter, and records the write (it is committed) in the model.
 */
async function crashAfterCommit(h: Harness, key: string, value: Json): Promise<void> {
  const headKey = `${h.tenant}/a/${h.agent}/p/h/${key}`;
  for (let operations = 1; (await h.kv.get(headKey)) === undefined; operations++) {
    h.faulty.crashAfter(operations, { applyCutOffWrite: true });
    await expect(h.state.set(key, value)).rejects.toBeInstanceOf(InjectedCrash);
    h.faulty.recover();
  }
  expect((await h.kv.get(headKey))?.value).toMatchObject({ pending: { usage_delta: jsonByteLength(value) } });
  h.model.acknowledgeSet(key, value, { version: 1, previous_version: 0 });
}

/** Persistent state on `kv` behind a fault injector, with a model fed by every answer. */
function createHarness(kv: KvStore, options: PersistentStateOptions): Harness {
  const faulty = createFaultyKvStore(kv);
  const state = createPersistentState(faulty, options);
  const model = new PersistentModel();
  return {
    kv,
    faulty,
    tenant: options.tenant,
    agent: options.agent,
    state,
    model,
    async set(key, value) {
      model.acknowledgeSet(key, value, await state.set(key, value));
    },
    async delete(key) {
      await state.delete(key);
      model.acknowledgeDelete(key);
    },
  };
}

async function answerOf<T>(answer: Promise<T>): Promise<T | undefined> {
  try {
    return await answer;
  } catch (error) {
    if (isAppError(error, 'KeyNotFound')) return undefined;
    throw error;
  }
}
