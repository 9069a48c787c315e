import { z } from 'zod';
import { isAppError } from '../errors.ts';
import type { Json } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { engineRuntimeOf, type EngineRuntime } from '../engine/engine-runtime.ts';
import { retryOnConflict } from './cas-retry.ts';
import { decodeRecord } from './stored-record.ts';

/** What a day log holds: records with an id (for dedupe) and an ISO time (for the day). */
export interface DayLogRecord {
  readonly id: string;
  readonly at: string;
}

export interface DayLogOptions {
  /** Days a record is kept, counted from the day it was written. @default 90 */
  readonly retentionDays?: number;
  /** @default the engine runtime of `kv`, which caches what this worker knows of the log */
  readonly runtime?: EngineRuntime;
}

/**
 * An append-only log partitioned by day (UTC) under `namespace`, so that retention drops
 * whole days and no record is written by every append:
 * - `p/<day>/<n>`: pages of records, numbered from 0 without gaps, each written once
 *   (create-if-absent) with the records of one append;
 * - `days`: the days that have pages, which a worker adds a day to once, before its
 *   first page of that day.
 * An append written again after a crash writes its records again, which readers dedupe by id.
 */
export interface DayLog<T extends DayLogRecord> {
  /**
   * Appends the records as pages of their days. Once a day per worker, it then drops
   * the days past retention, reckoned from the newest record written (the clock that
   * stamps records is the one that ages them).
   */
  write(records: readonly T[]): Promise<void>;
  /** Every record kept, each id once, in time order. */
  readAll(): Promise<T[]>;
  /** The records with `from <= at < to`, each id once, in time order; reads only those days. */
  readRange(from: Date, to: Date): Promise<T[]>;
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
  /** The last day this worker pruned up to. */
  pruned: string;
}

const daysSchema = z.object({ days: z.array(z.iso.date()) });

/** `namespace` ends in `/` and is the log's alone. */
export function createDayLog<T extends DayLogRecord>(
  kv: KvStore,
  namespace: string,
  recordSchema: z.ZodType<T>,
  options: DayLogOptions = {},
): DayLog<T> {
  const { retentionDays = 90 } = options;
  const pageSchema = z.object({ records: z.array(recordSchema) });
  const daysKey = `${namespace}days`;
  const pageKey = (day: string, n: number) => `${namespace}p/${day}/${n}`;
  const view = (options.runtime ?? engineRuntimeOf(kv)).singleton('day-log', namespace, (): WorkerView => ({
    listed: new Set(),
    next: new Map(),
    pruned: '',
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
  async function pagesOf(day: string): Promise<{ n: number; records: T[] }[]> {
    const pages: { n: number; records: T[] }[] = [];
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

  async function append(day: string, records: T[]): Promise<void> {
    if (!view.listed.has(day)) {
      await changeDays((days) => (days.includes(day) ? days : [...days, day]));
      view.listed.add(day);
    }
    let n = view.next.get(day) ?? (await pagesOf(day)).length;
    for (;;) {
      try {
        // Records are JSON (their schema's output), which is what the store keeps.
        await kv.save(pageKey(day, n), { records: records as unknown as Json[] }, { ifAbsent: true });
        view.next.set(day, n + 1);
        return;
      } catch (error) {
        // Another worker took this number: the next one is free or taken too.
        if (!isAppError(error, 'VersionConflict')) throw error;
        n++;
      }
    }
  }

  async function readDaysOf(days: readonly string[]): Promise<T[]> {
    const byId = new Map<string, T>();
    for (const day of days)
      for (const page of await pagesOf(day)) for (const record of page.records) byId.set(record.id, record);
    return [...byId.values()].sort((a, b) => (a.at === b.at ? compare(a.id, b.id) : compare(a.at, b.at)));
  }

  async function prune(now: Date): Promise<string[]> {
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
  }

  return {
    async write(records) {
      const byDay = new Map<string, T[]>();
      for (const record of records) {
        const day = record.at.slice(0, 10);
        byDay.set(day, [...(byDay.get(day) ?? []), record]);
      }
      for (const [day, ofDay] of byDay)
        for (let start = 0; start < ofDay.length; start += RECORDS_PER_PAGE)
          await append(day, ofDay.slice(start, start + RECORDS_PER_PAGE));
      const today = [...byDay.keys()].sort().at(-1);
      if (today !== undefined && view.pruned < today) {
        await prune(new Date(`${today}T00:00:00.000Z`));
        view.pruned = today;
      }
    },

    async readAll() {
      return readDaysOf((await readDays()).days);
    },

    async readRange(from, to) {
      const [first, last] = [from.toISOString(), to.toISOString()];
      const days = (await readDays()).days.filter(
        (day) => day >= first.slice(0, 10) && day <= last.slice(0, 10),
      );
      return (await readDaysOf(days)).filter((record) => record.at >= first && record.at < last);
    },

    prune,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
