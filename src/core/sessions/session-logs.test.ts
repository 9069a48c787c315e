import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createFaultyKvStore, InjectedCrash } from '../../testing/faulty-kv-store.ts';
import { recordingWrites } from '../../testing/kv-spies.ts';
import { sessionKeys } from './session-keys.ts';
import { assertSessionInvariants } from './session-invariants.ts';
import { SessionModel } from './session-model.ts';
import { messagePageSchema, messageSchema, type AppendMessageInput } from './session-schemas.ts';
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

async function open(store: KvStore = kv): Promise<{ sessions: Sessions; id: string }> {
  const sessions = createSessions(store, { now });
  return { sessions, id: (await sessions.open({ tenant, agent: 'a' })).session_id };
}

describe('session messages', () => {
  it('appends messages in order and reads them back page by page', async () => {
    const { sessions, id } = await open();
    const inputs: AppendMessageInput[] = [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Hello', metadata: { channel: 'web', ids: [1, 2] } },
      { role: 'assistant', content: '' },
      { role: 'tool', content: '{"result":42}', metadata: {} },
      { role: 'user', content: 'Thanks 🙂' },
    ];
    const appended = [];
    for (const input of inputs) {
      clock += 1000;
      appended.push(await sessions.appendMessage(tenant, id, input));
    }
    expect(appended.map((message) => messageSchema.parse(message))).toEqual(
      inputs.map((input, i) => ({
        seq: i + 1,
        ...input,
        timestamp: new Date(clock - (4 - i) * 1000).toISOString(),
      })),
    );
    expect(appended[0]).not.toHaveProperty('metadata');
    expect(await sessions.listMessages(tenant, id)).toEqual({ messages: appended, count: 5 });
    const first = await sessions.listMessages(tenant, id, { limit: 2 });
    expect(messagePageSchema.parse(first)).toEqual({
      messages: appended.slice(0, 2),
      count: 2,
      next_after: 2,
    });
    expect(await sessions.listMessages(tenant, id, { after: 2, limit: 2 })).toEqual({
      messages: appended.slice(2, 4),
      count: 2,
      next_after: 4,
    });
    expect(await sessions.listMessages(tenant, id, { after: 4, limit: 2 })).toEqual({
      messages: appended.slice(4),
      count: 1,
    });
    expect(await sessions.listMessages(tenant, id, { after: 9 })).toEqual({ messages: [], count: 0 });
    expect((await sessions.get(tenant, id)).message_count).toBe(5);
  });

  it('gives 16 concurrent appends the seqs 1..16, each once with its own content', async () => {
    const { sessions, id } = await open();
    const model = new SessionModel();
    const inputs = Array.from({ length: 16 }, (_, i): AppendMessageInput => ({
      role: 'user',
      content: `m${i}`,
    }));
    const answers = await Promise.all(inputs.map((input) => sessions.appendMessage(tenant, id, input)));
    for (const [i, answer] of answers.entries()) model.acknowledgeMessage(inputs[i]!, answer);
    expect(answers.map((answer) => answer.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    const { messages } = await sessions.listMessages(tenant, id);
    expect(messages.map((m) => m.content).sort()).toEqual(inputs.map((m) => m.content).sort());
    await assertSessionInvariants(kv, tenant, id, model, { now });
  });

  it('commits the claimed message of a crashed appender when the next append meets it', async () => {
    const faulty = createFaultyKvStore(kv);
    const { sessions, id } = await open(faulty);
    await sessions.appendMessage(tenant, id, { role: 'user', content: 'first' });
    // Dies right after creating record 2, before committing the count.
    faulty.crashAfter(2, { applyCutOffWrite: true });
    await expect(
      sessions.appendMessage(tenant, id, { role: 'user', content: 'lost answer' }),
    ).rejects.toBeInstanceOf(InjectedCrash);
    faulty.recover();
    expect(await kv.get(sessionKeys(tenant, id).message(2))).toBeDefined();
    expect((await sessions.listMessages(tenant, id)).count).toBe(1);
    expect(await sessions.appendMessage(tenant, id, { role: 'user', content: 'third' })).toMatchObject({
      seq: 3,
    });
    expect((await sessions.listMessages(tenant, id)).messages.map((m) => m.content)).toEqual([
      'first',
      'lost answer',
      'third',
    ]);
  });

  it('refuses bad messages and pages, writing nothing', async () => {
    const recording = recordingWrites(kv);
    const { sessions, id } = await open(recording.store);
    recording.written.length = 0;
    const invalid = [
      { role: 'robot', content: 'x' },
      { role: 'user' },
      { role: 'user', content: 42 },
      { role: 'user', content: 'x', metadata: 'not an object' },
      { role: 'user', content: 'x', metadata: [1] },
      { role: 'user', content: 'x', metadata: { n: Number.NaN } },
      { role: 'user', content: 'x', extra: true },
    ];
    for (const input of invalid)
      await expect(
        sessions.appendMessage(tenant, id, input as AppendMessageInput),
        JSON.stringify(input),
      ).rejects.toMatchObject({
        code: 'InvalidInput',
      });
    const tooLarge = [
      { role: 'user', content: 'x'.repeat(256 * 1024 + 1) },
      { role: 'user', content: 'é'.repeat(128 * 1024 + 1) },
      { role: 'user', content: 'x', metadata: { big: 'x'.repeat(256 * 1024) } },
    ] as const;
    for (const input of tooLarge)
      await expect(sessions.appendMessage(tenant, id, input)).rejects.toMatchObject({
        code: 'PayloadTooLarge',
      });
    for (const page of [{ limit: 0 }, { limit: 1001 }, { after: -1 }, { after: 1.5 }, { cursor: 'x' }])
      await expect(sessions.listMessages(tenant, id, page as object)).rejects.toMatchObject({
        code: 'InvalidInput',
      });
    expect(recording.written).toEqual([]);
    expect((await sessions.get(tenant, id)).message_count).toBe(0);
    await sessions.appendMessage(tenant, id, { role: 'user', content: 'x'.repeat(256 * 1024) });
  });
});

describe('session events', () => {
  it('appends events in order, apart from messages, and reads them back page by page', async () => {
    const { sessions, id } = await open();
    await sessions.appendMessage(tenant, id, { role: 'user', content: 'hi' });
    const first = await sessions.appendEvent(tenant, id, { type: 'tool.called', data: { tool: 'search' } });
    const second = await sessions.appendEvent(tenant, id, { type: 'tool.returned', data: [1, 2] });
    const third = await sessions.appendEvent(tenant, id, { type: 'x'.repeat(128), data: null });
    expect(first).toEqual({
      seq: 1,
      type: 'tool.called',
      data: { tool: 'search' },
      timestamp: now().toISOString(),
    });
    expect([second.seq, third.seq]).toEqual([2, 3]);
    expect(await sessions.listEvents(tenant, id, { limit: 2 })).toEqual({
      events: [first, second],
      count: 2,
      next_after: 2,
    });
    expect(await sessions.listEvents(tenant, id, { after: 2 })).toEqual({ events: [third], count: 1 });
    expect(await sessions.get(tenant, id)).toMatchObject({ message_count: 1, event_count: 3 });
  });

  it('keeps concurrent event and message appends apart and complete', async () => {
    const { sessions, id } = await open();
    const model = new SessionModel();
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const event = { type: 'step', data: { i } };
        model.acknowledgeEvent(event, await sessions.appendEvent(tenant, id, event));
        const message = { role: 'assistant' as const, content: `step ${i}` };
        model.acknowledgeMessage(message, await sessions.appendMessage(tenant, id, message));
      }),
    );
    await assertSessionInvariants(kv, tenant, id, model, { now });
  });

  it('refuses bad events, writing nothing', async () => {
    const recording = recordingWrites(kv);
    const { sessions, id } = await open(recording.store);
    recording.written.length = 0;
    for (const input of [
      { type: '', data: 1 },
      { type: 'x'.repeat(129), data: 1 },
      { type: 'x' },
      { type: 'x', data: 1, at: 2 },
    ])
      await expect(
        sessions.appendEvent(tenant, id, input as { type: string; data: null }),
      ).rejects.toMatchObject({
        code: 'InvalidInput',
      });
    await expect(
      sessions.appendEvent(tenant, id, { type: 'x', data: 'x'.repeat(256 * 1024) }),
    ).rejects.toMatchObject({
      code: 'PayloadTooLarge',
    });
    expect(recording.written).toEqual([]);
  });
});
