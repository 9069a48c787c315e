import type { z } from 'zod';
import { AppError, isAppError } from '../errors.ts';
import type { Json } from '../json.ts';
import { ignoringConflict, retryOnConflict, RETRY } from '../state/cas-retry.ts';
import type { SessionKeys } from './session-keys.ts';
import type { MetaChange, SessionHandle } from './session-record.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { readMany } from './store-batches.ts';

/** One of a session's append-only logs: its messages or its events. */
export interface LogKind<R> {
  /** The field of the session record that holds the last committed sequence number. */
  readonly counter: 'message_count' | 'event_count';
  /** The store key of record `seq`. */
  readonly key: (keys: SessionKeys, seq: number) => string;
  /** Decodes a stored record. */
  readonly schema: z.ZodType<R>;
}

/**
 * Appends the record that `build` makes for the next sequence number; answers it.
 *
 * The log is the records 1..count, where count is a field of the session record, so a
 * reader that reads no record above count sees only committed records, without gaps.
 * An append takes seq = count + 1 and:
 * 1. creates record seq with create-if-absent. Only one appender can create it, so an
 *    acknowledged record is never overwritten (with a plain save, a slower appender that
 *    read the same count would overwrite the record the winner had just committed, and
 *    the winner's acknowledged message would be lost). If the record already exists,
 *    another appender claimed seq and has not committed it — maybe it crashed — so this
 *    one commits seq for it and starts over with the next;
 * 2. commits by moving count from seq - 1 to seq with one compare-and-swap, unless a
 *    helper already did.
 * count moves only onto a record that exists, so 1..count never has a gap. A record
 * whose appender crashed before step 2 becomes part of the log when the next append
 * meets it: a write whose answer was lost may have taken effect, as anywhere else.
 */
export async function appendToLog<R extends Json>(
  handle: SessionHandle,
  kind: LogKind<R>,
  build: (seq: number, timestamp: string) => R,
  now: () => Date,
): Promise<R> {
  const claimed = await retryOnConflict(`append to ${handle.keys.prefix}${kind.counter}`, async () => {
    const entry = await handle.read();
    const seq = entry.meta[kind.counter] + 1;
    const record = build(seq, now().toISOString());
    try {
      await handle.dataStore(() => entry.meta).save(kind.key(handle.keys, seq), record, { ifAbsent: true });
      return { seq, record };
    } catch (error) {
      if (!isAppError(error, 'VersionConflict')) throw error;
    }
    await ignoringConflict(() => handle.commit(entry, countOf(kind, seq)));
    return RETRY;
  });
  await retryOnConflict(`commit of ${kind.key(handle.keys, claimed.seq)}`, async () => {
    const entry = await handle.read();
    // Still seq - 1 unless a helper that met the record committed seq for us.
    if (entry.meta[kind.counter] >= claimed.seq) return;
    await handle.commit(entry, countOf(kind, claimed.seq));
  });
  return claimed.record;
}

/** A page of a log: the records after `after`, at most `limit`. */
export interface LogPage<R> {
  readonly records: R[];
  /** The last sequence number of this page, when more records follow. */
  readonly nextAfter?: number;
}

/** Committed records `after + 1` to `after + limit` of the log; the call counts as activity. */
export async function readLog<R extends { seq: number }>(
  handle: SessionHandle,
  kind: LogKind<R>,
  { after, limit }: { after: number; limit: number },
): Promise<LogPage<R>> {
  const { meta } = await handle.touch();
  const total = meta[kind.counter];
  const last = Math.min(total, after + limit);
  const seqs = Array.from({ length: Math.max(0, last - after) }, (_, i) => after + 1 + i);
  const entries = await readMany(
    handle.dataStore(() => meta),
    seqs.map((seq) => kind.key(handle.keys, seq)),
  );
  const records = seqs.map((seq) => {
    const storeKey = kind.key(handle.keys, seq);
    const entry = entries.get(storeKey);
    // Committed records are never deleted while the session lives.
    if (entry === undefined) throw new AppError('DatabaseError', `store record ${storeKey} is missing`);
    const record = decodeRecord(kind.schema, entry, storeKey);
    if (record.seq !== seq)
      throw new AppError('DatabaseError', `store record ${storeKey} holds another record`);
    return record;
  });
  return last < total ? { records, nextAfter: last } : { records };
}

function countOf(kind: LogKind<unknown>, seq: number): MetaChange {
  return kind.counter === 'message_count' ? { message_count: seq } : { event_count: seq };
}
