import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../core/errors.ts';
import type { Json } from '../../core/json.ts';
import { engineRuntimeOf } from '../../core/engine/engine-runtime.ts';
import { assertSessionInvariants, repairSessionUsage } from '../../core/sessions/session-invariants.ts';
import { SessionModel } from '../../core/sessions/session-model.ts';
import type { AppendEventInput, AppendMessageInput } from '../../core/sessions/session-schemas.ts';
import type { SessionState } from '../../core/sessions/session-state.ts';
import { createSessions, type Sessions } from '../../core/sessions/sessions.ts';
import { createFaultyKvStore, InjectedCrash } from '../faulty-kv-store.ts';
import {
  crashAtEveryOperation,
  suiteTitle,
  uniqueTenant,
  type CrashStore,
  type CrashTarget,
} from './crash-target.ts';

// Correctness with single-key CAS alone, proven: a fault-injecting store stops "the process" after the Nth store
// operation of a capability, for every N, with the cut-off write lost or applied; after
// recovery and the next operations, the invariants hold.

const IDLE_SECONDS = 600;

/** One session on the fault-injecting store, and what the test knows of it. */
interface Harness {
  readonly sessions: Sessions;
  readonly tenant: string;
  readonly id: string;
  readonly state: SessionState;
  readonly model: SessionModel;
  set(key: string, value: Json): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  append(input: AppendMessageInput): Promise<void>;
  appendEvent(input: AppendEventInput): Promise<void>;
  end(): Promise<void>;
}

interface Scenario {
  readonly name: string;
  /** Acknowledged operations before the crash. */
  seed(h: Harness): Promise<void>;
  /** The operation that crashes, acknowledged in the model when it does not. */
  run(h: Harness): Promise<void>;
  /** After a crash, adopts in the model what the store shows the operation did. */
  observe(h: Harness): Promise<void>;
  /** Store operations the capability takes at least, so the test provably crashes at each. */
  readonly minimumOperations: number;
}

const message: AppendMessageInput = { role: 'assistant', content: 'crashing', metadata: { n: 1 } };
const event: AppendEventInput = { type: 'crashing', data: { n: 1 } };

const scenarios: Scenario[] = [
  {
    name: 'set of a new key',
    seed: (h) => h.set('other', 'x'),
    run: (h) => h.set('k', { step: 1 }),
    observe: async (h) => h.model.observeSet('k', { step: 1 }, await h.state.get('k')),
    minimumOperations: 5,
  },
  {
    name: 'set of an existing key',
    seed: async (h) => {
      await h.set('k', { step: 1 });
      await h.set('k', { step: 2 });
    },
    run: (h) => h.set('k', { step: 3, grown: 'yes' }),
    observe: async (h) => h.model.observeSet('k', { step: 3, grown: 'yes' }, await h.state.get('k')),
    minimumOperations: 3,
  },
  {
    name: 'delete',
    seed: async (h) => {
      await h.set('k', 'doomed');
      await h.set('other', 'x');
    },
    run: (h) => h.delete('k'),
    observe: async (h) => h.model.observeDelete('k', await h.state.get('k')),
    minimumOperations: 3,
  },
  {
    name: 'clear',
    seed: async (h) => {
      for (const key of ['a', 'b', 'c']) await h.set(key, key);
      await h.delete('b');
    },
    run: (h) => h.clear(),
    observe: async (h) => h.model.observeClear((await h.state.list()).keys),
    minimumOperations: 6,
  },
  {
    name: 'appendMessage',
    seed: async (h) => {
      await h.append({ role: 'user', content: 'one' });
      await h.append({ role: 'user', content: 'two' });
    },
    run: (h) => h.append(message),
    observe: async (h) => {
      h.model.uncertainMessages.push(message);
    },
    minimumOperations: 4,
  },
  {
    name: 'appendEvent',
    seed: (h) => h.appendEvent({ type: 'one', data: null }),
    run: (h) => h.appendEvent(event),
    observe: async (h) => {
      h.model.uncertainEvents.push(event);
    },
    minimumOperations: 4,
  },
  {
    name: 'end',
    seed: async (h) => {
      await h.set('k', 'v');
      await h.append({ role: 'user', content: 'one' });
    },
    run: (h) => h.end(),
    observe: async (h) => {
      h.model.ended = await isSessionNotFound(h.sessions.get(h.tenant, h.id));
    },
    minimumOperations: 7,
  },
];

/**
 * Sessions' crash-injection tests on one store: every scenario crashes at every store
 * operation of a session's set, delete, clear, appends or end, each on a new session.
 */
export function sessionCrashSuite(target: CrashTarget): void {
  const timeout = target.testTimeoutMs ?? 60_000;

  describe.skipIf(target.skip !== undefined)(suiteTitle('sessions', target), () => {
    let store: CrashStore;
    let tenant: string;
    let clock: number;
    const now = () => new Date(clock);
    // Every operation comes a fifth of the idle timeout after the last, so that each one
    // starts by refreshing the session record, and that write is crashed at too.
    const pause = () => {
      clock += (IDLE_SECONDS / 5) * 1000;
    };

    beforeEach(async () => {
      clock = Date.parse('2030-01-01T00:00:00.000Z');
      tenant = uniqueTenant('sessions');
      store = await target.open(() => clock);
    });
    afterEach(() => store.close());

    /** Runs the scenario on a new session with a crash after `crashAt` store operations; answers whether it crashed. */
    async function crashOnce(
      scenario: Scenario,
      crashAt: number,
      applyCutOffWrite: boolean,
    ): Promise<boolean> {
      const { kv } = store;
      const faulty = createFaultyKvStore(kv);
      const sessions = createSessions(faulty, { now, idleTimeoutSeconds: IDLE_SECONDS });
      const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
      const h = createHarness(sessions, tenant, id);
      // Usage follows the answers in the background: checks wait for it.
      const check = async () => {
        await engineRuntimeOf(faulty).background.settle();
        await assertSessionInvariants(kv, tenant, id, h.model, { now });
      };
      await scenario.seed(h);
      // The seed's background work must not run into the crash budget, or the count of
      // the operation's own steps would depend on timing.
      await engineRuntimeOf(faulty).background.settle();

      pause();
      faulty.crashAfter(crashAt, { applyCutOffWrite });
      let crashed = false;
      try {
        await scenario.run(h);
      } catch (error) {
        if (!(error instanceof InjectedCrash)) throw error;
        crashed = true;
      }
      faulty.recover();
      if (crashed) await scenario.observe(h);
      await engineRuntimeOf(faulty).background.settle();
      await repairSessionUsage(kv, tenant, id);
      await check();

      // The next operations finish whatever the crash left, and find every acknowledged write.
      pause();
      if (h.model.ended) return crashed;
      await h.set('k', { after: crashAt });
      await h.append({ role: 'user', content: `after ${crashAt}` });
      await h.appendEvent({ type: 'after', data: crashAt });
      await check();
      pause();
      await h.delete('k');
      await h.set('k', 'last');
      await h.clear();
      await h.set('fresh', 1);
      await check();
      await h.end();
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

function createHarness(sessions: Sessions, tenant: string, id: string): Harness {
  const model = new SessionModel();
  const state = sessions.state(tenant, id);
  return {
    sessions,
    tenant,
    id,
    state,
    model,
    set: async (key, value) => model.acknowledgeSet(key, value, await state.set(key, value)),
    delete: async (key) => model.acknowledgeDelete(key, await state.delete(key)),
    clear: async () => model.acknowledgeClear(await state.clear()),
    append: async (input) => model.acknowledgeMessage(input, await sessions.appendMessage(tenant, id, input)),
    appendEvent: async (input) =>
      model.acknowledgeEvent(input, await sessions.appendEvent(tenant, id, input)),
    async end() {
      expect(await sessions.end(tenant, id)).toMatchObject({ ended: true, removed_keys: model.live.size });
      model.ended = true;
    },
  };
}

async function isSessionNotFound(answer: Promise<unknown>): Promise<boolean> {
  try {
    await answer;
    return false;
  } catch (error) {
    if (isAppError(error, 'SessionNotFound')) return true;
    throw error;
  }
}
