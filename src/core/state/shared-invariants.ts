import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { AppError } from '../errors.ts';
import { jsonByteLength, type Json } from '../json.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { readRawNamespace, type RawNamespace } from '../engine/engine-invariants.ts';
import { createEngineRuntime, engineRuntimeOf } from '../engine/engine-runtime.ts';
import { isLive } from '../engine/head-record.ts';
import { createVersionedRecords } from '../engine/versioned-records.ts';
import { createAuditTrail, type AuditRecord } from './shared-audit.ts';
import {
  sharedChangeEventSchema,
  sharedNotificationSchema,
  type SharedChangeEvent,
} from './shared-events.ts';
import { sharedNamespace } from './shared-keys.ts';
import type { SharedModel, SharedModelChange } from './shared-model.ts';
import type { SharedListResult } from './shared-schemas.ts';
import { createSharedState, type SharedState } from './shared-state.ts';

/** What arrived on the bus's two topics, other tenants' events included. */
export interface PublishedSharedEvents {
  readonly changes: readonly Json[];
  readonly notifications: readonly Json[];
}

export interface SharedInvariantsOptions {
  /**
   * Answers everything received so far on `agentstate.shared.changes` and
   * `agentstate.notifications`, once what was published before the call has arrived.
   * Without it, events are not checked.
   */
  readonly published?: () => Promise<PublishedSharedEvents>;
  /**
   * Whether the bus delivers in publication order (the in-process one), so that per key
   * the first arrivals must go up by version. A broker that delivers concurrently (daprd)
   * does not. @default false
   */
  readonly ordered?: boolean;
}

/**
 * Throws an `Error` naming every violated invariant that must hold in the raw store the
 * moment a writer dies, with no repair of any kind, given what the
 * test knows (`model`):
 * - no acknowledged write is lost: every live key's head holds the model's value,
 *   version, writer and size; every deleted key's head is a tombstone;
 * - a live key is never unlisted: the index holds every live key;
 * - no committed change is lost: each was published, or is still recorded on its key's
 *   head (`follow_ups`) for whoever comes next to publish and audit it.
 */
export async function assertSharedDurable(
  kv: KvStore,
  tenant: string,
  model: SharedModel,
  { published }: SharedInvariantsOptions = {},
): Promise<void> {
  const raw = await readRaw(kv, tenant, model);
  const problems = durabilityProblems(raw, model);
  if (published !== undefined) {
    const events = ofTenant(sharedChangeEventSchema, (await published()).changes, tenant, problems);
    const announced = new Set([...events.values()].map(changeNameOf));
    for (const change of model.changes) {
      const name = changeName(change);
      const recorded = (raw.heads.get(change.key)?.follow_ups ?? []).some(
        (followUp) =>
          changeName({
            key: change.key,
            version: followUp.version,
            operation: followUp.deleted === true ? 'delete' : 'set',
            agent: ownerOf(followUp.meta),
          }) === name,
      );
      if (!announced.has(name) && !recorded)
        problems.push(`${name} was neither published nor recorded on its head`);
    }
  }
  if (problems.length > 0) throw violation(tenant, 'right after a crash', problems);
}

/**
 * Throws an `Error` naming every violated invariant once background work has run (the
 * repair a crash leaves to the next worker, `repairShared`): the durable ones, and
 * - list = the set of live keys, with their versions, sizes and last writers, and the
 *   index holds nothing else; `get` answers the model's state, deleted keys `found:
 *   false` with version 0;
 * - no head carries a change still to announce, and the usage shards count exactly the
 *   bytes of the live values;
 * - every committed change has exactly one audit record, and there is none for anything else;
 * - with `published`: every committed change was published at least once under one id
 *   (the audit record's), with its notification, nothing else was, and (`ordered`) per
 *   key changes were first published in version order.
 * Versions strictly increasing and never reused is checked by `model` as answers arrive.
 */
export async function assertSharedInvariants(
  kv: KvStore,
  bus: EventBus,
  tenant: string,
  model: SharedModel,
  { published, ordered = false }: SharedInvariantsOptions = {},
): Promise<void> {
  // Usage converges once the writers' background work has run (it waits a moment to
  // apply many writes at once): wait for what the writers of this process left.
  await engineRuntimeOf(kv).background.settle();
  const raw = await readRaw(kv, tenant, model);
  const problems = durabilityProblems(raw, model);
  const problem = (key: string, message: string) => problems.push(`${JSON.stringify(key)}: ${message}`);
  // A fresh worker's view, with a runtime of its own.
  const state = createSharedState(kv, bus, { tenant, runtime: createEngineRuntime(() => undefined) });

  const listed = await listAll(state);
  const expectedKeys = [...model.live.keys()].sort(compareKeys);
  const listedKeys = listed.map((entry) => entry.key);
  if (!isDeepStrictEqual(listedKeys, expectedKeys))
    problems.push(
      `list answered ${JSON.stringify(listedKeys)}, the live keys are ${JSON.stringify(expectedKeys)}`,
    );
  if (!isDeepStrictEqual(raw.indexed, expectedKeys))
    problems.push(
      `the index holds ${JSON.stringify(raw.indexed)}, the live keys are ${JSON.stringify(expectedKeys)}`,
    );
  for (const entry of listed) {
    const known = model.live.get(entry.key);
    if (known === undefined) continue;
    const expected = {
      version: known.version,
      size_bytes: jsonByteLength(known.value),
      owner_agent: known.owner_agent,
    };
    const got = { version: entry.version, size_bytes: entry.size_bytes, owner_agent: entry.owner_agent };
    if (!isDeepStrictEqual(got, expected))
      problem(entry.key, `listed as ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
  for (const [key, known] of model.live) {
    const got = await state.get(key);
    if (
      !got.found ||
      got.version !== known.version ||
      got.owner_agent !== known.owner_agent ||
      !isDeepStrictEqual(got.value, known.value)
    )
      problem(
        key,
        `get answered ${JSON.stringify(got)}, the last acknowledged write is ${JSON.stringify(known)}`,
      );
  }
  for (const key of model.deleted) {
    const got = await state.get(key);
    if (got.found || got.version !== 0) problem(key, `deleted, but get answered ${JSON.stringify(got)}`);
  }
  for (const [key, head] of raw.heads)
    if (head.follow_ups !== undefined) problem(key, 'its head still carries changes to announce');
  const live = [...model.live.values()].reduce((sum, entry) => sum + jsonByteLength(entry.value), 0);
  if (raw.usage !== live) problems.push(`usage counts ${raw.usage} bytes, the live values take ${live}`);

  const audited = await checkAudit(kv, tenant, model.changes, problems);
  if (published !== undefined) checkEvents(tenant, await published(), audited, ordered, problems);
  if (problems.length > 0) throw violation(tenant, 'after repair', problems);
}

/**
 * What the next worker does for a tenant a crashed one left, with every grace period
 * over: list the keys (which meets every head, rolling their changes forward and
 * collecting stale index entries), recount usage (the sweep), and wait for all of it.
 */
export async function repairShared(kv: KvStore, bus: EventBus, tenant: string): Promise<void> {
  const runtime = createEngineRuntime();
  // Nothing is in flight, so whatever change is left belongs to a dead writer: a clock
  // at the end of time makes every grace period over, whatever clock wrote the heads.
  const state = createSharedState(kv, bus, {
    tenant,
    now: () => new Date(8.64e15),
    intentGraceMs: 0,
    runtime,
  });
  await listAll(state);
  await runtime.background.settle();
  await createVersionedRecords(kv, {
    namespace: sharedNamespace(tenant),
    retention: 1,
    quotaBytes: Number.MAX_SAFE_INTEGER,
    exceeded: () => new AppError('QuotaExceeded', 'unreachable'),
    runtime,
  }).recountUsage();
  await runtime.background.settle();
  await listAll(state);
  // Done, as a worker that exits would be: nothing of it is left waiting to run.
  await runtime.background.close();
}

function readRaw(kv: KvStore, tenant: string, model: SharedModel): Promise<RawNamespace> {
  return readRawNamespace(kv, sharedNamespace(tenant), [...model.live.keys(), ...model.deleted]);
}

function durabilityProblems(raw: RawNamespace, model: SharedModel): string[] {
  const problems: string[] = [];
  const problem = (key: string, message: string) => problems.push(`${JSON.stringify(key)}: ${message}`);
  const indexed = new Set(raw.indexed);
  for (const [key, known] of model.live) {
    const head = raw.heads.get(key);
    if (
      head === undefined ||
      !isLive(head) ||
      head.version !== known.version ||
      head.meta?.['owner_agent'] !== known.owner_agent ||
      !isDeepStrictEqual(head.value, known.value)
    ) {
      problem(
        key,
        `the store holds ${JSON.stringify(head)}, the last acknowledged write is ${JSON.stringify(known)}`,
      );
      continue;
    }
    if (head.size_bytes !== jsonByteLength(known.value))
      problem(key, `head size ${head.size_bytes} is not the value's`);
    if (!indexed.has(key)) problem(key, 'live, but not in the index');
    const history = raw.history.get(key) ?? [];
    if (history.length > 0) problem(key, `keeps history records ${JSON.stringify(history)}`);
  }
  for (const key of model.deleted) {
    const head = raw.heads.get(key);
    if (head === undefined || isLive(head))
      problem(key, `deleted, but the store holds ${JSON.stringify(head)}`);
  }
  return problems;
}

/** Matches the audit trail against the changes; answers each audited change by its record's id. */
async function checkAudit(
  kv: KvStore,
  tenant: string,
  changes: readonly SharedModelChange[],
  problems: string[],
): Promise<Map<string, SharedModelChange>> {
  const byChange = new Map<string, AuditRecord>();
  const trail = await createAuditTrail(kv, tenant, { runtime: createEngineRuntime() }).readAll();
  // Only shared changes are checked here; approvals and snapshots audit other actions.
  const sharedRecords = trail.filter((record) => record.action.startsWith('state.shared.'));
  for (const record of sharedRecords) {
    if (record.key === undefined || record.version === undefined) {
      problems.push(`audit record ${record.id} of ${record.action} names no key or version`);
      continue;
    }
    const change = changeName({
      key: record.key,
      version: record.version,
      operation: record.action === 'state.shared.set' ? 'set' : 'delete',
      agent: record.agent,
    });
    if (byChange.has(change)) problems.push(`${change} is audited twice`);
    byChange.set(change, record);
  }
  const audited = new Map<string, SharedModelChange>();
  for (const change of changes) {
    const record = byChange.get(changeName(change));
    if (record === undefined) problems.push(`${changeName(change)} has no audit record`);
    else audited.set(record.id, change);
    byChange.delete(changeName(change));
  }
  for (const change of byChange.keys()) problems.push(`${change} is audited but was never committed`);
  return audited;
}

/** Checks that each audited change (by id) was published with its notification, in order per key, and nothing else. */
function checkEvents(
  tenant: string,
  published: PublishedSharedEvents,
  audited: ReadonlyMap<string, SharedModelChange>,
  ordered: boolean,
  problems: string[],
): void {
  const changes = ofTenant(sharedChangeEventSchema, published.changes, tenant, problems);
  const notifications = ofTenant(sharedNotificationSchema, published.notifications, tenant, problems);
  for (const [id, change] of audited) {
    const event = changes.get(id);
    if (event === undefined) problems.push(`${changeName(change)} was never published (id ${id})`);
    else if (changeNameOf(event) !== changeName(change))
      problems.push(`event ${id} says ${JSON.stringify(event)}, expected ${changeName(change)}`);
    const notification = notifications.get(id);
    const kind = change.operation === 'set' ? 'state.shared.set' : 'state.shared.delete';
    if (
      notification?.kind !== kind ||
      notification.key !== change.key ||
      notification.version !== change.version ||
      notification.agent !== change.agent
    )
      problems.push(
        `${changeName(change)} has no matching notification (id ${id}): ${JSON.stringify(notification)}`,
      );
  }
  for (const id of changes.keys())
    if (!audited.has(id)) problems.push(`event ${id} was published for a change that was not committed`);
  for (const id of notifications.keys())
    if (!audited.has(id)) problems.push(`notification ${id} was sent for a change that was not committed`);
  if (!ordered) return;
  // `changes` keeps first arrivals in order: per key they go up by version, set before delete.
  const last = new Map<string, SharedChangeEvent>();
  for (const event of changes.values()) {
    const before = last.get(event.key);
    if (before !== undefined && rank(before) >= rank(event))
      problems.push(`${changeNameOf(event)} was first published after ${changeNameOf(before)}`);
    last.set(event.key, event);
  }
}

function rank(event: SharedChangeEvent): number {
  return event.version * 2 + (event.operation === 'delete' ? 1 : 0);
}

/** The tenant's events by id in order of first arrival, deduplicated; a malformed one is a problem. */
function ofTenant<T extends { id: string; tenant: string }>(
  schema: z.ZodType<T>,
  events: readonly Json[],
  tenant: string,
  problems: string[],
): Map<string, T> {
  const byId = new Map<string, T>();
  for (const raw of events) {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) problems.push(`malformed event ${JSON.stringify(raw)}`);
    else if (parsed.data.tenant === tenant) {
      const seen = byId.get(parsed.data.id);
      if (seen !== undefined && !isDeepStrictEqual(seen, parsed.data))
        problems.push(`two different events share the id ${parsed.data.id}`);
      if (seen === undefined) byId.set(parsed.data.id, parsed.data);
    }
  }
  return byId;
}

function changeNameOf(event: SharedChangeEvent): string {
  return changeName({
    key: event.key,
    version: event.version,
    operation: event.operation,
    agent: event.owner_agent,
  });
}

function changeName({ operation, key, version, agent }: SharedModelChange): string {
  return `${operation} of ${JSON.stringify(key)} version ${version} by ${agent}`;
}

function violation(tenant: string, when: string, problems: string[]): Error {
  return new Error(`shared state of ${tenant} violates its invariants ${when}:\n- ${problems.join('\n- ')}`);
}

async function listAll(state: SharedState): Promise<SharedListResult['entries']> {
  const entries: SharedListResult['entries'] = [];
  let cursor: string | undefined;
  do {
    // Small pages, so that pagination is part of what is checked.
    const page = await state.list({ limit: 7, ...(cursor === undefined ? {} : { cursor }) });
    entries.push(...page.entries);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return entries;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ownerOf(meta: Record<string, Json> | undefined): string {
  const owner = meta?.['owner_agent'];
  return typeof owner === 'string' ? owner : '(none)';
}
