import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf } from '../engine/engine-runtime.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { sessionKeys } from './session-keys.ts';
import { assertSessionInvariants } from './session-invariants.ts';
import { SessionModel } from './session-model.ts';
import { createSessions, type Sessions } from './sessions.ts';

const tenant = 't1';
let clock: number;
let kv: KvStore;
const now = () => new Date(clock);

beforeEach(async () => {
  clock = Date.parse('2030-01-01T00:00:00.000Z');
  kv = createSqliteKvStore({ path: ':memory:', now: () => clock });
  await kv.init();
});
afterEach(() => kv.close());

/** A session with two keys, a message and an event, all recorded in its model. */
async function healthySession(): Promise<{ sessions: Sessions; id: string; model: SessionModel }> {
  const sessions = createSessions(kv, { now });
  const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
  const model = new SessionModel();
  const state = sessions.state(tenant, id);
  model.acknowledgeSet('a', 1, await state.set('a', 1));
  model.acknowledgeSet('b', 'two', await state.set('b', 'two'));
  const message = { role: 'user' as const, content: 'hi' };
  model.acknowledgeMessage(message, await sessions.appendMessage(tenant, id, message));
  const event = { type: 'e', data: [1] };
  model.acknowledgeEvent(event, await sessions.appendEvent(tenant, id, event));
  await engineRuntimeOf(kv).background.settle();
  return { sessions, id, model };
}

const check = (id: string, model: SessionModel) => assertSessionInvariants(kv, tenant, id, model, { now });

describe('assertSessionInvariants', () => {
  it('passes on a healthy session', async () => {
    const { id, model } = await healthySession();
    await check(id, model);
  });

  it('finds a usage counter that does not match the live values', async () => {
    const { id, model } = await healthySession();
    const [shard] = sessionKeys(tenant, id).values(0).usageShards;
    const entry = await kv.get(shard!);
    const bytes = (entry?.value as { bytes: number } | undefined)?.bytes ?? 0;
    await kv.save(shard!, { bytes: bytes + 1, applied: [] });
    await expect(check(id, model)).rejects.toThrow(/usage counts 7 bytes, the live values take 6/);
  });

  it('finds an acknowledged write that was lost', async () => {
    const { sessions, id, model } = await healthySession();
    await sessions.state(tenant, id).set('a', 'overwritten behind the model');
    await expect(check(id, model)).rejects.toThrow(/"a": get answered .*overwritten/);
  });

  it('finds a live key missing from the index', async () => {
    const { id, model } = await healthySession();
    await createKeyIndex(kv, { namespace: sessionKeys(tenant, id).values(0).namespace }).remove('b');
    await expect(check(id, model)).rejects.toThrow(/list answered \["a"\], the live keys are \["a","b"\]/);
  });

  it('finds a message nobody appended, and an acknowledged one that changed', async () => {
    const { sessions, id, model } = await healthySession();
    await sessions.appendMessage(tenant, id, { role: 'user', content: 'unknown' });
    const stored = sessionKeys(tenant, id).message(1);
    await kv.save(stored, { ...((await kv.get(stored))?.value as object), content: 'changed' });
    await expect(check(id, model)).rejects.toThrow(
      /acknowledged message 1 is .*changed[\s\S]*message 2 .*which nobody appended/,
    );
  });

  it('finds a session that should have ended', async () => {
    const { id, model } = await healthySession();
    model.ended = true;
    await expect(check(id, model)).rejects.toThrow(/ended, but get still answers/);
  });
});
