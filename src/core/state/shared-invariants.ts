import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { jsonByteLength, type Json } from '../json.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { readMany } from './read-many.ts';
import { decodeRecord } from './stored-record.ts';
import { usageSchema } from './usage-counter.ts';
import { auditRecordSchema, createAuditTrail, type AuditRecord } from './shared-audit.ts';
import { sharedChangeEventSchema, sharedNotificationSchema } from './shared-events.ts';
import { sharedKeys } from './shared-keys.ts';
import type { SharedModel, SharedModelChange } from './shared-model.ts';
import { sharedHeadSchema } from './shared-records.ts';
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
}

/**
 * Throws an `Error` naming every violated invariant of one tenant's shared state
 * (the crash tests' oracle), given what the test knows (`model`). Run it when no operation
 * is in flight: after a crash and recovery, or after concurrent writers finished.
 *
 * Reads first roll forward what crashed writers left (as any reader would, publishing
 * on `bus`), then:
 * - list = the set of live keys, with their versions, sizes and last writers;
 * - no acknowledged write is lost: `get` answers the model's value, version and owner;
 * - deleted keys answer `found: false` with version 0;
 * - no head carries a pending intent, and the usage record counts exactly the bytes of
 *   the live values;
 * - every committed change has exactly one audit record, indexed, and there is none
 *   for anything else;
 * - with `published`: every committed change was published at least once under one id
 *   (the audit record's), with its notification, and nothing else was published.
 * Versions strictly increasing and never reused is checked by `model` as answers arrive.
 */
export async function assertSharedInvariants(
  kv: KvStore,
  bus: EventBus,
  tenant: string,
  model: SharedModel,
  { published }: SharedInvariantsOptions = {},
): Promise<void> {
  // Nothing is in flight, so whatever intent is left belongs to a dead writer: a clock
  // at the end of time makes every grace period over, whatever clock wrote the heads.
  const state = createSharedState(kv, bus, { tenant, now: () => new Date(8.64e15), intentGraceMs: 0 });
  const problems: string[] = [];
  const problem = (key: string, message: string) => problems.push(`${JSON.stringify(key)}: ${message}`);

  const listed = await listAll(state);
  const expectedKeys = [...model.live.keys()].sort(compareKeys);
  const listedKeys = listed.map((entry) => entry.key);
  if (!isDeepStrictEqual(listedKeys, expectedKeys))
    problems.push(
      `list answered ${JSON.stringify(listedKeys)}, the live keys are ${JSON.stringify(expectedKeys)}`,
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

  const keys = sharedKeys(tenant);
  const heads = await readMany(
    kv,
    [...model.live.keys(), ...model.deleted].map((key) => keys.head(key)),
  );
  for (const [storeKey, entry] of heads) {
    if (decodeRecord(sharedHeadSchema, entry, storeKey).pending !== undefined)
      problems.push(`${storeKey} still carries an intent`);
  }
  const usageEntry = await kv.get(keys.usage);
  const counted = usageEntry === undefined ? 0 : decodeRecord(usageSchema, usageEntry, keys.usage).bytes;
  const live = [...model.live.values()].reduce((sum, entry) => sum + jsonByteLength(entry.value), 0);
  if (counted !== live) problems.push(`usage counts ${counted} bytes, the live values take ${live}`);

  const audited = await checkAudit(kv, tenant, model.changes, problems);
  if (published !== undefined) checkEvents(tenant, await published(), audited, problems);

  if (problems.length > 0)
    throw new Error(`shared state of ${tenant} violates its invariants:\n- ${problems.join('\n- ')}`);
}

/** Matches the audit trail against the changes; answers the id of each change's record. */
async function checkAudit(
  kv: KvStore,
  tenant: string,
  changes: readonly SharedModelChange[],
  problems: string[],
): Promise<Map<string, SharedModelChange>> {
  const trail = createAuditTrail(kv, tenant);
  const indexed: string[] = [];
  let after: string | undefined;
  do {
    const page = await trail.index.list({ limit: 500, ...(after === undefined ? {} : { after }) });
    indexed.push(...page.keys);
    after = page.cursor;
  } while (after !== undefined);
  const ids = indexed.map((entry) => entry.slice(entry.lastIndexOf('/') + 1));
  const records = await readMany(
    kv,
    ids.map((id) => trail.recordKey(id)),
  );
  const byChange = new Map<string, AuditRecord>();
  for (const [position, id] of ids.entries()) {
    const entry = records.get(trail.recordKey(id));
    if (entry === undefined) {
      problems.push(`audit index lists ${indexed[position]}, whose record is missing`);
      continue;
    }
    const record = decodeRecord(auditRecordSchema, entry, trail.recordKey(id));
    if (indexed[position] !== `${record.at}/${record.id}`)
      problems.push(`audit index entry ${indexed[position]} names a record of ${record.at}`);
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

/** Checks that each audited change (by id) was published with its notification, and nothing else. */
function checkEvents(
  tenant: string,
  published: PublishedSharedEvents,
  audited: ReadonlyMap<string, SharedModelChange>,
  problems: string[],
): void {
  const changes = ofTenant(sharedChangeEventSchema, published.changes, tenant, problems);
  const notifications = ofTenant(sharedNotificationSchema, published.notifications, tenant, problems);
  for (const [id, change] of audited) {
    const event = changes.get(id);
    const expected = {
      key: change.key,
      version: change.version,
      operation: change.operation,
      owner_agent: change.agent,
    };
    if (event === undefined) problems.push(`${changeName(change)} was never published (id ${id})`);
    else if (
      !isDeepStrictEqual(
        {
          key: event.key,
          version: event.version,
          operation: event.operation,
          owner_agent: event.owner_agent,
        },
        expected,
      )
    )
      problems.push(`event ${id} says ${JSON.stringify(event)}, expected ${JSON.stringify(expected)}`);
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
}

/** The tenant's events by id, deduplicated; a malformed one is a problem. */
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
      byId.set(parsed.data.id, parsed.data);
    }
  }
  return byId;
}

function changeName({ operation, key, version, agent }: SharedModelChange): string {
  return `${operation} of ${JSON.stringify(key)} version ${version} by ${agent}`;
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
