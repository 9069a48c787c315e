import { isDeepStrictEqual } from 'node:util';
import { AppError, isAppError } from '../errors.ts';
import { jsonByteLength } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { readRawNamespace, type RawNamespace } from '../engine/engine-invariants.ts';
import { createEngineRuntime, engineRuntimeOf } from '../engine/engine-runtime.ts';
import { isLive } from '../engine/head-record.ts';
import { createVersionedRecords } from '../engine/versioned-records.ts';
import { persistentNamespace } from './persistent-keys.ts';
import type { PersistentModel } from './persistent-model.ts';
import type { PersistentListResult } from './persistent-schemas.ts';
import { createPersistentState, type PersistentState } from './persistent-state.ts';

export interface PersistentInvariantsOptions {
  /** The retention the namespace was written with. @default 100 */
  readonly retention?: number;
}

/**
 * Throws an `Error` naming every violated invariant that must hold in the raw store the
 * moment a writer dies, with no repair of any kind, given what the
 * test knows (`model`):
 * - no acknowledged write is lost: every live key's head holds the model's version and
 *   value, with its size; every deleted key's head is a tombstone;
 * - a live key is never unlisted: the index holds every live key;
 * - history is complete within retention: the records of the versions from the newest
 *   of the head - retention + 1 and the key's current life up to the head exist.
 */
export async function assertPersistentDurable(
  kv: KvStore,
  tenant: string,
  agent: string,
  model: PersistentModel,
  { retention = 100 }: PersistentInvariantsOptions = {},
): Promise<RawNamespace> {
  const raw = await readRawNamespace(kv, persistentNamespace(tenant, agent), [
    ...model.live.keys(),
    ...model.deleted,
  ]);
  const problems = durabilityProblems(raw, model, retention);
  if (problems.length > 0) throw violation(tenant, agent, 'right after a crash', problems);
  return raw;
}

/**
 * Throws an `Error` naming every violated invariant once background work has run (the
 * repair a crash leaves to the next worker): the durable ones, and
 * - list answers exactly the live keys, with their versions and sizes, and `get` and
 *   `history` agree with the store;
 * - the index holds nothing else: entries of deleted keys and of creators that never
 *   committed were collected;
 * - deleted keys keep no history records, and live keys none below retention;
 * - the usage shards count exactly the bytes of the live values.
 * Versions strictly increasing and never reused is checked by `model` as answers arrive.
 */
export async function assertPersistentInvariants(
  kv: KvStore,
  tenant: string,
  agent: string,
  model: PersistentModel,
  { retention = 100 }: PersistentInvariantsOptions = {},
): Promise<void> {
  // Usage converges once the writers' background work has run (it waits a moment to
  // apply many writes at once): wait for what the writers of this process left.
  await engineRuntimeOf(kv).background.settle();
  const raw = await readRawNamespace(kv, persistentNamespace(tenant, agent), [
    ...model.live.keys(),
    ...model.deleted,
  ]);
  const problems = durabilityProblems(raw, model, retention);
  const problem = (key: string, message: string) => problems.push(`${JSON.stringify(key)}: ${message}`);
  // A fresh worker's view, with a runtime of its own.
  const state = createPersistentState(kv, { tenant, agent, retention, runtime: createEngineRuntime() });

  const expectedKeys = [...model.live.keys()].sort(compareKeys);
  const listed = await listAll(state);
  if (
    !isDeepStrictEqual(
      listed.map((entry) => entry.key),
      expectedKeys,
    )
  )
    problems.push(
      `list answered ${JSON.stringify(listed.map((e) => e.key))}, the live keys are ${JSON.stringify(expectedKeys)}`,
    );
  for (const entry of listed) {
    const known = model.live.get(entry.key);
    if (
      known !== undefined &&
      (entry.version !== known.version || entry.size_bytes !== jsonByteLength(known.value))
    )
      problem(
        entry.key,
        `listed as version ${entry.version} of ${entry.size_bytes} bytes, expected version ${known.version}`,
      );
  }
  if (!isDeepStrictEqual(raw.indexed, expectedKeys))
    problems.push(
      `the index holds ${JSON.stringify(raw.indexed)}, the live keys are ${JSON.stringify(expectedKeys)}`,
    );

  for (const [key, known] of model.live) {
    const got = await answerOf(state.get(key));
    if (got === undefined || got.version !== known.version || !isDeepStrictEqual(got.value, known.value))
      problem(
        key,
        `get answered ${JSON.stringify(got)}, the last acknowledged write is version ${known.version}`,
      );
    const history = await answerOf(state.history(key));
    const expected = visibleVersions(known.version, known.firstVersion, retention).reverse();
    if (
      !isDeepStrictEqual(
        history?.versions.map((version) => version.version),
        expected,
      )
    )
      problem(
        key,
        `history answered ${JSON.stringify(history?.versions.map((v) => v.version))}, expected ${JSON.stringify(expected)}`,
      );
    const stored = raw.history.get(key) ?? [];
    const kept = visibleVersions(known.version, known.firstVersion, retention).slice(0, -1);
    if (!isDeepStrictEqual(stored, kept))
      problem(
        key,
        `history records ${JSON.stringify(stored)} are stored, retention keeps ${JSON.stringify(kept)}`,
      );
  }
  for (const key of model.deleted) {
    if ((await answerOf(state.get(key))) !== undefined) problem(key, 'deleted, but get finds it');
    const stored = raw.history.get(key) ?? [];
    if (stored.length > 0) problem(key, `deleted, but history records ${JSON.stringify(stored)} remain`);
  }
  const live = [...model.live.values()].reduce((sum, entry) => sum + jsonByteLength(entry.value), 0);
  if (raw.usage !== live) problems.push(`usage counts ${raw.usage} bytes, the live values take ${live}`);

  if (problems.length > 0) throw violation(tenant, agent, 'after repair', problems);
}

function durabilityProblems(raw: RawNamespace, model: PersistentModel, retention: number): string[] {
  const problems: string[] = [];
  const problem = (key: string, message: string) => problems.push(`${JSON.stringify(key)}: ${message}`);
  const indexed = new Set(raw.indexed);
  for (const [key, known] of model.live) {
    const head = raw.heads.get(key);
    if (
      head === undefined ||
      !isLive(head) ||
      head.version !== known.version ||
      !isDeepStrictEqual(head.value, known.value)
    ) {
      problem(
        key,
        `the store holds ${JSON.stringify(head)}, the last acknowledged write is version ${known.version}`,
      );
      continue;
    }
    if (head.size_bytes !== jsonByteLength(known.value))
      problem(key, `head size ${head.size_bytes} is not the value's`);
    if (!indexed.has(key)) problem(key, 'live, but not in the index');
    const stored = new Set(raw.history.get(key));
    const missing = visibleVersions(known.version, known.firstVersion, retention)
      .slice(0, -1)
      .filter((version) => !stored.has(version));
    if (missing.length > 0)
      problem(key, `history records of versions ${JSON.stringify(missing)} are missing`);
  }
  for (const key of model.deleted) {
    const head = raw.heads.get(key);
    if (head === undefined || isLive(head))
      problem(key, `deleted, but the store holds ${JSON.stringify(head)}`);
  }
  return problems;
}

/** The versions a live key shows, oldest first, the head's last. */
function visibleVersions(version: number, firstVersion: number, retention: number): number[] {
  const lowest = Math.max(1, version - retention + 1, firstVersion);
  return Array.from({ length: version - lowest + 1 }, (_, i) => lowest + i);
}

function violation(tenant: string, agent: string, when: string, problems: string[]): Error {
  return new Error(
    `persistent state of ${tenant}/${agent} violates its invariants ${when}:\n- ${problems.join('\n- ')}`,
  );
}

async function listAll(state: PersistentState): Promise<PersistentListResult['entries']> {
  const entries: PersistentListResult['entries'] = [];
  let cursor: string | undefined;
  do {
    // Small pages, so that pagination is part of what is checked.
    const page = await state.list({ limit: 7, ...(cursor === undefined ? {} : { cursor }) });
    entries.push(...page.entries);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return entries;
}

/** The answer, or `undefined` for `KeyNotFound`. */
async function answerOf<T>(answer: Promise<T>): Promise<T | undefined> {
  try {
    return await answer;
  } catch (error) {
    if (isAppError(error, 'KeyNotFound')) return undefined;
    throw error;
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What the next worker does for a namespace a crashed one left: list it (which collects
 * stale index entries), let background work finish, and recount usage, as a worker does
 * once the namespace has been idle (`usage-shards.ts`).
 */
export async function repairPersistent(
  kv: KvStore,
  tenant: string,
  agent: string,
  { retention = 100 }: PersistentInvariantsOptions = {},
): Promise<void> {
  const runtime = createEngineRuntime();
  const state = createPersistentState(kv, { tenant, agent, retention, runtime });
  await listAll(state);
  await runtime.background.settle();
  const records = createVersionedRecords(kv, {
    namespace: persistentNamespace(tenant, agent),
    retention,
    quotaBytes: Number.MAX_SAFE_INTEGER,
    exceeded: () => new AppError('QuotaExceeded', 'unreachable'),
    runtime,
  });
  await records.recountUsage();
  // Done, as a worker that exits would be: nothing of it is left waiting to run.
  await runtime.background.close();
}
