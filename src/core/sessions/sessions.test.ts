import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import { AppError } from '../errors.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf } from '../engine/engine-runtime.ts';
import { shardOf } from '../engine/usage-shards.ts';
import { recordingWrites } from '../../testing/kv-spies.ts';
import { sessionKeys } from './session-keys.ts';
import * as schemas from './session-schemas.ts';
import type { SessionAccess } from './session-record.ts';
import { createSessions, type Sessions } from './sessions.ts';

const tenant = 't1';
const start = Date.parse('2030-01-01T00:00:00.000Z');
let clock: number;
let kv: KvStore;
const now = () => new Date(clock);
const advance = (seconds: number) => {
  clock += seconds * 1000;
};
const iso = (ms: number) => new Date(ms).toISOString();

beforeEach(async () => {
  clock = start;
  // The store expires records on the same clock, so expiry tests need not sleep.
  kv = createSqliteKvStore({ path: ':memory:', now: () => clock });
  await kv.init();
});
afterEach(() => kv.close());

/** Every call a session answers, each expected to fail the same way on a dead session. */
function everyCall(
  sessions: Sessions,
  id: string,
  access?: SessionAccess,
): [string, () => Promise<unknown>][] {
  const state = sessions.state(tenant, id, access);
  return [
    ['get', () => sessions.get(tenant, id, access)],
    ['end', () => sessions.end(tenant, id, access)],
    ['state.get', () => state.get('k')],
    ['state.set', () => state.set('k', 1)],
    ['state.delete', () => state.delete('k')],
    ['state.list', () => state.list()],
    ['state.clear', () => state.clear()],
    ['appendMessage', () => sessions.appendMessage(tenant, id, { role: 'user', content: 'hi' }, access)],
    ['listMessages', () => sessions.listMessages(tenant, id, {}, access)],
    ['appendEvent', () => sessions.appendEvent(tenant, id, { type: 'x', data: null }, access)],
    ['listEvents', () => sessions.listEvents(tenant, id, {}, access)],
  ];
}

async function expectNotFoundEverywhere(sessions: Sessions, id: string): Promise<void> {
  for (const [name, call] of everyCall(sessions, id)) {
    const error = await call().then(
      () => new Error(`${name} answered`),
      (e: unknown) => e,
    );
    expect(error, name).toBeInstanceOf(AppError);
    expect(error, name).toMatchObject({
      code: 'SessionNotFound',
      recovery: [{ action: 'reconnect', description: 'Establish a new session via the Gateway.' }],
    });
  }
}

describe('session lifecycle', () => {
  it('opens a session and answers it with its lifetimes', async () => {
    const sessions = createSessions(kv, { now });
    const info = await sessions.open({ tenant, agent: 'agent-1' });
    expect(schemas.sessionInfoSchema.parse(info)).toEqual({
      session_id: info.session_id,
      agent: 'agent-1',
      status: 'active',
      created_at: iso(start),
      last_active_at: iso(start),
      idle_timeout_seconds: 1800,
      expires_at: iso(start + 1800_000),
      hard_expires_at: iso(start + 86_400_000),
      message_count: 0,
      event_count: 0,
    });
    expect(info.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await sessions.get(tenant, info.session_id)).toEqual(info);
    expect((await sessions.open({ tenant, agent: 'agent-1' })).session_id).not.toBe(info.session_id);
  });

  it('refuses bad tenant and agent ids with InvalidInput, writing nothing', async () => {
    const recording = recordingWrites(kv);
    const sessions = createSessions(recording.store, { now });
    for (const input of [
      { tenant: '', agent: 'a' },
      { tenant: 't/1', agent: 'a' },
      { tenant, agent: '../b' },
      { tenant, agent: 'a', extra: true },
    ])
      await expect(sessions.open(input as { tenant: string; agent: string })).rejects.toMatchObject({
        code: 'InvalidInput',
      });
    expect(recording.written).toEqual([]);
  });

  it('refuses bad options', () => {
    for (const options of [{ idleTimeoutSeconds: 0 }, { maxLifetimeSeconds: 1.5 }, { quotaBytes: -1 }])
      expect(() => createSessions(kv, options)).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });

  it('answers SessionNotFound for unknown and malformed ids, and for another tenant', async () => {
    const sessions = createSessions(kv, { now });
    const { session_id } = await sessions.open({ tenant, agent: 'a' });
    await expectNotFoundEverywhere(sessions, '5f0c2a57-8b1e-4c55-9d64-3c2f1f7b9a10');
    await expectNotFoundEverywhere(sessions, 'not-a-uuid');
    await expectNotFoundEverywhere(sessions, '../../t1/s/x');
    await expectNotFoundEverywhere(sessions, session_id.toUpperCase().replace(/^./, 'g'));
    await expect(sessions.get('t2', session_id)).rejects.toMatchObject({ code: 'SessionNotFound' });
  });

  it('ends a session: it is gone for every call, with its key-values and logs', async () => {
    const sessions = createSessions(kv, { now });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    const other = await sessions.open({ tenant, agent: 'a' });
    const state = sessions.state(tenant, id);
    await state.set('a', 1);
    await state.set('b', 2);
    await state.set('c', 3);
    await state.delete('c');
    await sessions.appendMessage(tenant, id, { role: 'user', content: 'hi' });
    await sessions.appendEvent(tenant, id, { type: 'started', data: {} });
    await sessions.state(tenant, other.session_id).set('a', 'kept');

    expect(await sessions.end(tenant, id)).toEqual({ ended: true, removed_keys: 2 });
    await expectNotFoundEverywhere(sessions, id);

    const keys = sessionKeys(tenant, id);
    const values = keys.values(0);
    const left = await kv.getBulk([
      ...['a', 'b', 'c'].map(values.value),
      ...values.usageShards,
      keys.message(1),
      keys.event(1),
    ]);
    // Only the tombstone of the deleted key, which holds no value, waits for the hard expiry.
    expect([...left.keys()]).toEqual([values.value('c')]);
    expect(left.get(values.value('c'))?.value).toMatchObject({ deleted: true, value: null });
    expect(await sessions.state(tenant, other.session_id).get('a')).toEqual({ value: 'kept', found: true });
  });

  it('ends an idle session after its idle timeout, by the store TTL alone', async () => {
    const sessions = createSessions(kv, { now, idleTimeoutSeconds: 600 });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    const { expires_at } = await sessions.get(tenant, id);
    expect(expires_at).toBe(iso(start + 600_000));
    const metaKey = sessionKeys(tenant, id).meta;
    advance(599);
    expect(await kv.get(metaKey)).toBeDefined();
    advance(1);
    // Not just refused: the store's TTL has removed the record.
    expect(await kv.get(metaKey)).toBeUndefined();
    await expectNotFoundEverywhere(sessions, id);
  });

  it('keeps an active session alive across many idle periods, refreshing at most once per tenth', async () => {
    const sessions = createSessions(kv, { now, idleTimeoutSeconds: 600 });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    const state = sessions.state(tenant, id);
    await state.set('k', 'v');
    for (let call = 0; call < 20; call++) {
      advance(500);
      expect(await state.get('k')).toEqual({ value: 'v', found: true });
    }
    const info = await sessions.get(tenant, id);
    expect(info.last_active_at).toBe(iso(start + 20 * 500_000));
    expect(info.expires_at).toBe(iso(start + 20 * 500_000 + 600_000));
    advance(600);
    await expect(sessions.get(tenant, id)).rejects.toMatchObject({ code: 'SessionNotFound' });
  });

  it('does not write on a call made within a tenth of the idle timeout of the last refresh', async () => {
    const sessions = createSessions(kv, { now, idleTimeoutSeconds: 600 });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    const metaKey = sessionKeys(tenant, id).meta;
    const etag = async () => (await kv.get(metaKey))?.etag;
    const before = await etag();
    advance(59);
    await sessions.get(tenant, id);
    await sessions.state(tenant, id).get('k');
    await sessions.listMessages(tenant, id);
    expect(await etag()).toBe(before);
    expect((await sessions.get(tenant, id)).last_active_at).toBe(iso(start));
    advance(1);
    expect((await sessions.get(tenant, id)).last_active_at).toBe(iso(start + 60_000));
    expect(await etag()).not.toBe(before);
  });

  it('ends a session at its hard expiry however active, and its records with it', async () => {
    const sessions = createSessions(kv, { now, idleTimeoutSeconds: 600, maxLifetimeSeconds: 3600 });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    const state = sessions.state(tenant, id);
    await state.set('k', 'v');
    await sessions.appendMessage(tenant, id, { role: 'user', content: 'hi' });
    const keys = sessionKeys(tenant, id);
    const values = keys.values(0);
    // The key index's root leaf too: it is written through the same expiring store.
    await engineRuntimeOf(kv).background.settle();
    const shard = values.usageShards[shardOf('k')]!;
    const records = [keys.meta, values.value('k'), shard, `${values.namespace}i/l/0`, keys.message(1)];
    expect((await kv.getBulk(records)).size).toBe(records.length);
    for (let elapsed = 0; elapsed < 3500; elapsed += 500) {
      advance(500);
      await state.get('k');
    }
    // Just refreshed, so the idle deadline is 600 s away, but the hard one comes first.
    expect((await sessions.get(tenant, id)).expires_at).toBe(iso(start + 3600_000));
    advance(100);
    await expectNotFoundEverywhere(sessions, id);
    expect([...(await kv.getBulk(records)).keys()]).toEqual([]);
  });

  it('answers DatabaseError for a damaged session record', async () => {
    const sessions = createSessions(kv, { now });
    const { session_id: id } = await sessions.open({ tenant, agent: 'a' });
    await kv.save(sessionKeys(tenant, id).meta, { session_id: id, status: 'active' });
    await expect(sessions.get(tenant, id)).rejects.toMatchObject({ code: 'DatabaseError' });
    await expect(sessions.state(tenant, id).get('k')).rejects.toMatchObject({ code: 'DatabaseError' });
  });
});

describe('session schemas', () => {
  const exported = Object.entries(schemas).flatMap(([name, value]) =>
    value instanceof z.ZodType ? [[name, value] as const] : [],
  );

  it.each(exported)('%s generates a JSON Schema', (_name, schema) => {
    expect(z.toJSONSchema(schema, { io: 'input' })).toMatchObject({});
  });

  it('refuses unknown fields in inputs', () => {
    expect(schemas.sessionGetInputSchema.safeParse({ key: 'k', extra: 1 }).success).toBe(false);
    expect(schemas.sessionClearInputSchema.safeParse({ all: true }).success).toBe(false);
    expect(z.toJSONSchema(schemas.sessionSetInputSchema)).toMatchObject({ additionalProperties: false });
  });
});

describe('access checks', () => {
  it("run on every call with the session's agent, and a refusal writes nothing", async () => {
    const recording = recordingWrites(kv);
    const sessions = createSessions(recording.store, { now });
    const { session_id: id } = await sessions.open({ tenant, agent: 'owner' });
    // Past a refresh, so that an admitted call would write the session record.
    advance(1000);
    recording.written.length = 0;
    const seen: string[] = [];
    const refuse: SessionAccess = (session) => {
      seen.push(session.agent);
      throw new AppError('Forbidden', 'not yours');
    };
    for (const [name, call] of everyCall(sessions, id, refuse)) {
      await expect(call(), name).rejects.toMatchObject({ code: 'Forbidden' });
    }
    expect(recording.written).toEqual([]);
    expect(seen).toEqual(Array(everyCall(sessions, id).length).fill('owner'));
    const admit: SessionAccess = (session) => void seen.push(session.agent);
    expect(await sessions.state(tenant, id, admit).set('k', 1)).toMatchObject({ overwritten: false });
    expect(recording.written.length).toBeGreaterThan(0);
  });
});
