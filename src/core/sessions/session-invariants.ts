import { isDeepStrictEqual } from 'node:util';
import { isAppError } from '../errors.ts';
import { jsonByteLength } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { sessionKeys } from './session-keys.ts';
import { sameMessage, type SessionModel } from './session-model.ts';
import { sessionMetaSchema } from './session-records.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { createEngineRuntime, engineRuntimeOf } from '../engine/engine-runtime.ts';
import { usageShardSchema } from '../engine/usage-shards.ts';
import type { AppendEventInput, Message, SessionEvent } from './session-schemas.ts';
import type { SessionState } from './session-state.ts';
import { createSessions, type Sessions } from './sessions.ts';
import { openValueSpace } from './value-space.ts';

export interface SessionInvariantsOptions {
  /** The clock the session was written with, so that it is not taken for expired. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Throws an `Error` naming every violated invariant of one session (the crash tests' oracle),
 * given what the test knows (`model`). Run it when no operation is in flight: after a
 * crash and recovery, or after concurrent writers finished.
 *
 * Reads first roll forward what crashed writers left (as any reader would), then:
 * - an ended session is `SessionNotFound`; a live one is found;
 * - list = the set of live keys, sorted, page by page;
 * - no acknowledged write is lost: `get` answers the model's value for every live key,
 *   and `found: false` for every deleted one;
 * - the usage shards count exactly the bytes of the live values (once background work
 *   has run, and after `repairSessionUsage` if a writer crashed);
 * - the message history and the event log are the records 1..count without gaps; every
 *   acknowledged record is there, unchanged, at its `seq`; every other record is an
 *   append whose answer was lost, at most once.
 */
export async function assertSessionInvariants(
  kv: KvStore,
  tenant: string,
  sessionId: string,
  model: SessionModel,
  { now }: SessionInvariantsOptions = {},
): Promise<void> {
  // Usage converges once the writers' background work has run (it waits a moment to
  // apply many writes at once): wait for what the writers of this process left.
  await engineRuntimeOf(kv).background.settle();
  const sessions = createSessions(kv, now === undefined ? {} : { now });
  const problems = model.ended
    ? await endedProblems(sessions, tenant, sessionId)
    : await liveProblems(kv, sessions, tenant, sessionId, model);
  if (problems.length > 0)
    throw new Error(`session ${tenant}/${sessionId} violates its invariants:\n- ${problems.join('\n- ')}`);
}

async function endedProblems(sessions: Sessions, tenant: string, sessionId: string): Promise<string[]> {
  const problems: string[] = [];
  const calls: [string, () => Promise<unknown>][] = [
    ['get', () => sessions.get(tenant, sessionId)],
    ['state.list', () => sessions.state(tenant, sessionId).list()],
    ['listMessages', () => sessions.listMessages(tenant, sessionId)],
  ];
  for (const [name, call] of calls) {
    if (!(await isSessionNotFound(call()))) problems.push(`ended, but ${name} still answers`);
  }
  return problems;
}

async function liveProblems(
  kv: KvStore,
  sessions: Sessions,
  tenant: string,
  sessionId: string,
  model: SessionModel,
): Promise<string[]> {
  const problems: string[] = [];
  const problem = (key: string, message: string) => problems.push(`${JSON.stringify(key)}: ${message}`);
  const info = await sessions.get(tenant, sessionId);
  const state = sessions.state(tenant, sessionId);

  const listed = await listAll(state);
  const expected = [...model.live.keys()].sort(compareKeys);
  if (!isDeepStrictEqual(listed, expected))
    problems.push(`list answered ${JSON.stringify(listed)}, the live keys are ${JSON.stringify(expected)}`);
  for (const [key, value] of model.live) {
    const got = await state.get(key);
    if (!got.found || !isDeepStrictEqual(got.value, value))
      problem(
        key,
        `get answered ${JSON.stringify(got)}, the last acknowledged value is ${JSON.stringify(value)}`,
      );
  }
  for (const key of model.deleted) {
    if ((await state.get(key)).found) problem(key, 'deleted, but get finds it');
  }

  const keys = sessionKeys(tenant, sessionId);
  const metaEntry = await kv.get(keys.meta);
  const generation =
    metaEntry === undefined ? 0 : decodeRecord(sessionMetaSchema, metaEntry, keys.meta).kv_generation;
  const values = keys.values(generation);
  const shards = await kv.getBulk(values.usageShards);
  let counted = 0;
  for (const [storeKey, entry] of shards) counted += decodeRecord(usageShardSchema, entry, storeKey).bytes;
  const live = [...model.live.values()].reduce<number>((sum, value) => sum + jsonByteLength(value), 0);
  if (counted !== live) problems.push(`usage counts ${counted} bytes, the live values take ${live}`);

  const messages = await readAll(async (after) => {
    const page = await sessions.listMessages(tenant, sessionId, { after, limit: 5 });
    return { records: page.messages, next: page.next_after };
  });
  checkLog(
    'message',
    messages,
    info.message_count,
    model.messages,
    model.uncertainMessages,
    sameMessage,
    problems,
  );
  const events = await readAll(async (after) => {
    const page = await sessions.listEvents(tenant, sessionId, { after, limit: 5 });
    return { records: page.events, next: page.next_after };
  });
  checkLog('event', events, info.event_count, model.events, model.uncertainEvents, sameEvent, problems);
  return problems;
}

/** Checks one log against what was acknowledged and what may have been appended. */
function checkLog<R extends Message | SessionEvent, I>(
  name: string,
  listed: readonly R[],
  count: number,
  acknowledged: ReadonlyMap<number, R>,
  uncertain: readonly I[],
  holds: (input: I, record: R) => boolean,
  problems: string[],
): void {
  const seqs = listed.map((record) => record.seq);
  const contiguous = Array.from({ length: count }, (_, i) => i + 1);
  if (!isDeepStrictEqual(seqs, contiguous))
    problems.push(`the ${name}s have seqs ${JSON.stringify(seqs)}, the count is ${count}`);
  for (const [seq, record] of acknowledged) {
    if (!isDeepStrictEqual(listed[seq - 1], record))
      problems.push(
        `acknowledged ${name} ${seq} is ${JSON.stringify(listed[seq - 1])}, not ${JSON.stringify(record)}`,
      );
  }
  const unused = [...uncertain];
  for (const record of listed) {
    if (acknowledged.has(record.seq)) continue;
    const index = unused.findIndex((input) => holds(input, record));
    if (index === -1)
      problems.push(`${name} ${record.seq} is ${JSON.stringify(record)}, which nobody appended`);
    else unused.splice(index, 1);
  }
}

function sameEvent(input: AppendEventInput, event: SessionEvent): boolean {
  return input.type === event.type && isDeepStrictEqual(input.data, event.data);
}

async function listAll(state: SessionState): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    // Small pages, so that pagination is part of what is checked.
    const page = await state.list({ limit: 7, ...(cursor === undefined ? {} : { cursor }) });
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return keys;
}

/** Every record of a log, in small pages so that pagination is part of what is checked. */
async function readAll<R>(
  read: (after: number) => Promise<{ records: R[]; next: number | undefined }>,
): Promise<R[]> {
  const records: R[] = [];
  let after: number | undefined = 0;
  while (after !== undefined) {
    const page = await read(after);
    records.push(...page.records);
    after = page.next;
  }
  return records;
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

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What the next worker does for a session a writer crashed in: a recount of the current
 * generation's usage, which also applies the size changes the writer committed and did
 * not apply.
 */
export async function repairSessionUsage(kv: KvStore, tenant: string, sessionId: string): Promise<void> {
  const keys = sessionKeys(tenant, sessionId);
  const metaEntry = await kv.get(keys.meta);
  if (metaEntry === undefined) return;
  const { kv_generation: generation } = decodeRecord(sessionMetaSchema, metaEntry, keys.meta);
  const runtime = createEngineRuntime();
  const { records } = openValueSpace(kv, keys.values(generation), Number.MAX_SAFE_INTEGER, runtime);
  await records.recountUsage();
  // Done, as a worker that exits would be: nothing of it is left waiting to run.
  await runtime.background.close();
}
