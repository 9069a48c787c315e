import { AppError } from '../errors.ts';
import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import { createKeyIndex, type KeyIndex } from '../state/key-index.ts';
import { sessionQuotaExceeded } from './session-errors.ts';
import type { ValueKeys } from './session-keys.ts';
import { valueRecordSchema, type ValueRecord } from './session-records.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { deleteMany, readMany } from './store-batches.ts';
import { createUsageCounter, indexRecount, type UsageCounter } from '../state/usage-counter.ts';

/** A value record as read, with the ETag that a compare-and-swap on it must carry. */
export interface ValueEntry {
  readonly record: ValueRecord;
  readonly etag: string;
}

/**
 * One generation of a session's key-values: the value records, the index of their keys
 * and the quota usage, on a store whose saves expire with the session.
 */
export interface ValueSpace {
  readonly kv: KvStore;
  readonly keys: ValueKeys;
  readonly index: KeyIndex;
  readonly usage: UsageCounter;
  /** The record of `key`, or `undefined` if the key was never written in this generation. */
  read(key: string): Promise<ValueEntry | undefined>;
  /** The records of those of `keys` that were ever written. */
  readMany(keys: readonly string[]): Promise<Map<string, ValueEntry>>;
  /**
   * Applies the record's pending intent to the usage record, then clears it from the
   * record. Idempotent, so the writer and any number of readers may run it at once.
   * Answers the record as it is afterwards, or `undefined` if another writer changed
   * it first (and so settled it too). The record's value does not change.
   */
  settle(entry: ValueEntry): Promise<ValueEntry | undefined>;
  /**
   * Counts the live keys and deletes every value record and the usage record, for a
   * generation nobody uses any more. The index is left to expire with the session.
   */
  purge(): Promise<number>;
}

const PAGE = 1000;

export function isLive(record: ValueRecord): boolean {
  return record.deleted !== true;
}

export function openValueSpace(kv: KvStore, keys: ValueKeys, quotaBytes: number): ValueSpace {
  const index = createKeyIndex(kv, { namespace: keys.namespace });

  function toEntry(entry: KvEntry, key: string): ValueEntry {
    const storeKey = keys.value(key);
    const record = decodeRecord(valueRecordSchema, entry, storeKey);
    // A record that names another key was copied or written to the wrong place.
    if (record.key !== key)
      throw new AppError('DatabaseError', `store record ${storeKey} holds the value of another key`);
    return { record, etag: entry.etag };
  }

  async function read(key: string): Promise<ValueEntry | undefined> {
    const entry = await kv.get(keys.value(key));
    return entry === undefined ? undefined : toEntry(entry, key);
  }

  async function readValues(userKeys: readonly string[]): Promise<Map<string, ValueEntry>> {
    const entries = await readMany(
      kv,
      userKeys.map((key) => keys.value(key)),
    );
    const records = new Map<string, ValueEntry>();
    for (const key of userKeys) {
      const entry = entries.get(keys.value(key));
      if (entry !== undefined) records.set(key, toEntry(entry, key));
    }
    return records;
  }

  /** Every key of the index, one page of records at a time. */
  async function forEachPage(visit: (records: Map<string, ValueEntry>) => Promise<void>): Promise<void> {
    let after: string | undefined;
    do {
      const page = await index.list({ limit: PAGE, ...(after === undefined ? {} : { after }) });
      await visit(await readValues(page.keys));
      after = page.cursor;
    } while (after !== undefined);
  }

  const usage = createUsageCounter(kv, {
    key: keys.usage,
    quotaBytes,
    exceeded: sessionQuotaExceeded,
    recount: indexRecount(index, async (userKeys) =>
      [...(await readValues(userKeys)).values()].map(({ record }) => record),
    ),
  });

  return {
    kv,
    keys,
    index,
    usage,
    read,
    readMany: readValues,

    async settle(entry) {
      const intent = entry.record.pending;
      if (intent === undefined) return entry;
      // Usage first: a record without an intent must have its delta counted already.
      await usage.apply(intent);
      const { key } = entry.record;
      let known: ValueEntry | undefined = entry;
      return retryOnConflict(`intent on ${keys.value(key)}`, async () => {
        // The first attempt uses the record in hand; after a lost race, read it again.
        const current = known ?? (await read(key));
        known = undefined;
        if (current?.record.pending?.id !== intent.id) return undefined;
        const record = { ...current.record };
        delete record.pending;
        return { record, etag: await kv.save(keys.value(key), record, { etag: current.etag }) };
      });
    },

    async purge() {
      let live = 0;
      await forEachPage(async (records) => {
        for (const { record } of records.values()) if (isLive(record)) live++;
        await deleteMany(
          kv,
          [...records.keys()].map((key) => keys.value(key)),
        );
      });
      await kv.delete(keys.usage);
      return live;
    },
  };
}
