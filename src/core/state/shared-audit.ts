import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import { isAppError } from '../errors.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf, type EngineRuntime } from '../engine/engine-runtime.ts';
import { retryOnConflict } from './cas-retry.ts';
import { decodeRecord } from './stored-record.ts';
import type { SharedChangeEvent } from './shared-events.ts';
import { assertValidNamespaceId } from './user-key.ts';

/**
 * One audited action (every Notify action is audited), identified by the id of the
 * change it records, so that writing it again (a roll-forward after a crash) adds
 * nothing a reader counts twice.
 */
const sharedAuditRecordSchema = z.object({
  id: z.uuid(),
  tenant: idSchema,
  at: z.iso.datetime(),
  /** Who acted. */
  agent: idSchema,
  /** The capability that ran. */
  action: z.enum(['state.shared.set', 'state.shared.delete']),
  permission: z.literal('notify'),
  key: z.string(),
  version: z.int().min(1),
});

/** A backup, restore or export that ran (Approval Required), with its outcome: `ok` or the error code. */
const backupAuditRecordSchema = z.object({
  id: z.uuid(),
  tenant: idSchema,
  at: z.iso.datetime(),
  agent: idSchema,
  action: z.enum(['state.backup.create', 'state.backup.restore', 'state.backup.export']),
  permission: z.literal('approval_required'),
  backup_id: z.string(),
  outcome: z.string(),
});

export const auditRecordSchema = z.union([sharedAuditRecordSchema, backupAuditRecordSchema]);
export type AuditRecord = z.infer<typeof auditRecordSchema>;

const pageSchema = z.object({ records: z.array(auditRecordSchema) });
const daysSchema = z.object({ days: z.array(z.iso.date()) });

export interface AuditTrailOptions {
  /** Days a record is kept, counted from the day it was written. @default 90 */
  readonly retentionDays?: number;
  /** @default the engine runtime of `kv`, which caches what this worker knows of the trail */
  readonly runtime?: EngineRuntime;
}

/**
 * A tenant's audit trail, partitioned by day (UTC) under `${tenant}/audit/`, so that
 * retention drops whole days and no record is written by every write:
 * - `p/<day>/<n>`: pages of records, numbered from 0 without gaps, each written once
 *   (create-if-absent) with the records of one batch of changes;
 * - `days`: the days that have pages, which a worker adds a day to once, before its
 *   first page of that day.
 * Written after the answer, by the follow-ups of shared changes (`shared-state.ts`); a
 * batch written again after a crash writes its records again, which readers dedupe by id.
 */
export interface AuditTrail {
  /** Appends the records as pages of their days. */
  write(records: readonly AuditRecord[]): Promise<void>;
  /** Every record kept, each id once, in time order. */
  readAll(): Promise<AuditRecord[]>;
  /** Drops the days older than the retention before `now`; answers the days dropped. */
  prune(now: Date): Promise<string[]>;
}

// Records per page, so that a page stays far below any store's value limit.
const RECORDS_PER_PAGE = 100;
// Pages read or deleted per store call.
const PAGES_PER_CALL = 100;

interface WorkerView {
  /** Days this worker knows to be listed in `days`. */
  readonly listed: Set<string>;
  /** Per day, the lowest page number this worker has not seen written. */
  readonly next: Map<string, number>;
}

/** Throws `InvalidInput` unless `tenant` is a valid id. */
export function createAuditTrail(kv: KvStore, tenant: string, options: AuditTrailOptions = {}): AuditTrail {
  assertValidNamespaceId('tenant', tenant);
  const { retentionDays = 90 } = options;
  const namespace = `${tenant}/audit/`;
  const daysKey = `${namespace}days`;
  const pageKey = (day: string, n: number) => `${namespace}p/${day}/${n}`;
  const view = (options.runtime ?? engineRuntimeOf(kv)).singleton('audit', namespace, (): WorkerView => ({
    listed: new Set(),
    next: new Map(),
  }));

  async function readDays() {
    const entry = await kv.get(daysKey);
    return { days: entry === undefined ? [] : decodeRecord(daysSchema, entry, daysKey).days, entry };
  }

  async function changeDays(change: (days: string[]) => string[]): Promise<void> {
    await retryOnConflict(`update of ${daysKey}`, async () => {
      const { days, entry } = await readDays();
      const next = change(days).sort();
      if (next.length === days.length && next.every((day, i) => day === days[i])) return;
      await kv.save(daysKey, { days: next }, entry === undefined ? { ifAbsent: true } : { etag: entry.etag });
    });
  }

  /** The pages of `day`, from 0 up to the first missing one. */
  async function pagesOf(day: string): Promise<{ n: number; records: AuditRecord[] }[]> {
    const pages: { n: number; records: AuditRecord[] }[] = [];
    for (let start = 0; ; start += PAGES_PER_CALL) {
      const numbers = Array.from({ length: PAGES_PER_CALL }, (_, i) => start + i);
      const entries = await kv.getBulk(numbers.map((n) => pageKey(day, n)));
      for (const n of numbers) {
        const entry = entries.get(pageKey(day, n));
        if (entry === undefined) return pages;
        pages.push({ n, records: decodeRecord(pageSchema, entry, pageKey(day, n)).records });
      }
    }
  }

  async function append(day: string, records: AuditRecord[]): Promise<void> {
    if (!view.listed.has(day)) {
      await changeDays((days) => (days.includes(day) ? days : [...days, day]));
      view.listed.add(day);
    }
    let n = view.next.get(day) ?? (await pagesOf(day)).length;
    for (;;) {
      try {
        await kv.save(pageKey(day, n), { records }, { ifAbsent: true });
        view.next.set(day, n + 1);
        return;
      } catch (error) {
        // Another worker took this number: the next one is free or taken too.
        if (!isAppError(error, 'VersionConflict')) throw error;
        n++;
      }
    }
  }

  return {
    async write(records) {
      const byDay = new Map<string, AuditRecord[]>();
      for (const record of records) {
        const day = record.at.slice(0, 10);
        byDay.set(day, [...(byDay.get(day) ?? []), record]);
      }
      for (const [day, ofDay] of byDay)
        for (let start = 0; start < ofDay.length; start += RECORDS_PER_PAGE)
          await append(day, ofDay.slice(start, start + RECORDS_PER_PAGE));
    },

    async readAll() {
      const byId = new Map<string, AuditRecord>();
      for (const day of (await readDays()).days)
        for (const page of await pagesOf(day)) for (const record of page.records) byId.set(record.id, record);
      return [...byId.values()].sort((a, b) => (a.at === b.at ? compare(a.id, b.id) : compare(a.at, b.at)));
    },

    async prune(now) {
      const cutoff = new Date(now.getTime() - retentionDays * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
      const expired = (await readDays()).days.filter((day) => day < cutoff);
      for (const day of expired) {
        // Highest first, so that a crash midway leaves the pages numbered without gaps.
        const numbers = (await pagesOf(day)).map((page) => page.n).reverse();
        for (let start = 0; start < numbers.length; start += PAGES_PER_CALL)
          await kv.transact(
            numbers.slice(start, start + PAGES_PER_CALL).map((n) => ({ op: 'delete', key: pageKey(day, n) })),
          );
        view.next.delete(day);
        view.listed.delete(day);
      }
      if (expired.length > 0) await changeDays((days) => days.filter((day) => !expired.includes(day)));
      return expired;
    },
  };
}

/** The audit record of a committed shared change. */
export function auditRecordOf(event: SharedChangeEvent): z.infer<typeof sharedAuditRecordSchema> {
  return {
    id: event.id,
    tenant: event.tenant,
    at: event.at,
    agent: event.owner_agent,
    action: event.operation === 'set' ? 'state.shared.set' : 'state.shared.delete',
    permission: 'notify',
    key: event.key,
    version: event.version,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
