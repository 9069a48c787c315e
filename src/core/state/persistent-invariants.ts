import { isDeepStrictEqual } from 'node:util';
import { isAppError } from '../errors.ts';
import { jsonByteLength } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { persistentKeys } from './persistent-keys.ts';
import type { PersistentModel } from './persistent-model.ts';
import { headSchema } from './persistent-records.ts';
import { decodeRecord } from './stored-record.ts';
import { usageSchema } from './usage-counter.ts';
import type { PersistentListResult } from './persistent-schemas.ts';
import { createPersistentState, type PersistentState } from './persistent-state.ts';

export interface PersistentInvariantsOptions {
  /** The retention the namespace was written with. @default 100 */
  readonly retention?: number;
}

/**
 * Throws an `Error` naming every violated invariant of one agent's persistent state
 * (DESIGN.md section 2), given what the test knows (`model`). Run it when no operation
 * is in flight: after a crash and recovery, or after concurrent writers finished.
 *
 * Reads first roll forward what crashed writers left (as any reader would), then:
 * - list = the set of live keys, with their versions and sizes;
 * - no acknowledged write is lost: `get` answers the model's value and version;
 * - history is complete within retention: versions from the head down to the newest of
 *   1, head - retention + 1 and the first version after the key's last delete, in order,
 *   all of one life (one `created_at`);
 * - deleted keys answer `KeyNotFound` to `get` and `history`, and none of their history
 *   records remain in the store;
 * - no head carries a pending intent, and the usage record counts exactly the bytes of
 *   the live values.
 * Versions strictly increasing and never reused is checked by `model` as answers arrive.
 */
export async function assertPersistentInvariants(
  kv: KvStore,
  tenant: string,
  agent: string,
  model: PersistentModel,
  { retention = 100 }: PersistentInvariantsOptions = {},
): Promise<void> {
  const state = createPersistentState(kv, { tenant, agent, retention });
  const keys = persistentKeys(tenant, agent);
  const problems: string[] = [];
  const problem = (key: string, message: string) => problems.push(`${JSON.stringify(key)}: ${message}`);

  const listed = await listAll(state);
  const expectedKeys = [...model.live.keys()].sort(compareKeys);
  if (
    !isDeepStrictEqual(
      listed.map((entry) => entry.key),
      expectedKeys,
    )
  )
    problems.push(
      `list answered ${JSON.stringify(listed.map((entry) => entry.key))}, the live keys are ${JSON.stringify(expectedKeys)}`,
    );
  for (const entry of listed) {
    const known = model.live.get(entry.key);
    if (
      known !== undefined &&
      (entry.version !== known.version || entry.size_bytes !== jsonByteLength(known.value))
    )
      problem(
        entry.key,
        `listed as version ${entry.version} of ${entry.size_bytes} bytes, expected version ${known.version} of ${jsonByteLength(known.value)}`,
      );
  }

  for (const [key, known] of model.live) {
    const got = await answerOf(state.get(key));
    if (got === undefined || got.version !== known.version || !isDeepStrictEqual(got.value, known.value)) {
      problem(
        key,
        `get answered ${JSON.stringify(got)}, the last acknowledged write is version ${known.version}`,
      );
      continue;
    }
    const history = await answerOf(state.history(key));
    const lowest = Math.max(1, known.version - retention + 1, known.firstVersion);
    const expected = Array.from({ length: known.version - lowest + 1 }, (_, i) => known.version - i);
    const versions = history?.versions.map((version) => version.version);
    if (!isDeepStrictEqual(versions, expected))
      problem(
        key,
        `history holds versions ${JSON.stringify(versions)}, expected ${JSON.stringify(expected)}`,
      );
    if (history !== undefined && history.versions.some((version) => version.created_at !== got.created_at))
      problem(key, 'history mixes versions of different lives (created_at differs)');
    if (history?.count !== history?.versions.length)
      problem(key, 'history count is not the number of versions');
  }

  for (const key of model.deleted) {
    if ((await answerOf(state.get(key))) !== undefined) problem(key, 'deleted, but get finds it');
    if ((await answerOf(state.history(key))) !== undefined) problem(key, 'deleted, but history finds it');
    const head = await kv.get(keys.head(key));
    const last = head === undefined ? 0 : decodeRecord(headSchema, head, keys.head(key)).version;
    const versions = Array.from({ length: last }, (_, i) => keys.history(key, i + 1));
    const left = versions.length === 0 ? new Map() : await kv.getBulk(versions);
    if (left.size > 0) problem(key, `deleted, but ${left.size} history records remain`);
  }

  const heads = await kv.getBulk([...model.live.keys(), ...model.deleted].map((key) => keys.head(key)));
  for (const [storeKey, entry] of heads) {
    if (decodeRecord(headSchema, entry, storeKey).pending !== undefined)
      problems.push(`${storeKey} still carries an intent`);
  }
  const usageEntry = await kv.get(keys.usage);
  const counted = usageEntry === undefined ? 0 : decodeRecord(usageSchema, usageEntry, keys.usage).bytes;
  const live = [...model.live.values()].reduce((sum, entry) => sum + jsonByteLength(entry.value), 0);
  if (counted !== live) problems.push(`usage counts ${counted} bytes, the live values take ${live}`);

  if (problems.length > 0)
    throw new Error(
      `persistent state of ${tenant}/${agent} violates its invariants:\n- ${problems.join('\n- ')}`,
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
