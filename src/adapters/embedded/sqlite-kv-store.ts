import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../core/errors.ts';
import type { Json } from '../../core/json.ts';
import { DEFAULT_MAX_VALUE_BYTES } from '../../ports/limits.ts';
import type { DeleteOptions, KvEntry, KvOperation, KvStore, SaveOptions } from '../../ports/kv-store.ts';
import { assertValidKvKey, assertValidTtl, assertValueFits } from '../../ports/kv-validation.ts';
import { migrate } from './sqlite-migrations.ts';
import { prepareKvStatements, type KvRow, type KvStatements } from './sqlite-kv-statements.ts';
import { settle } from './settle.ts';
import { translateSqliteError } from './translate-sqlite-error.ts';

export interface SqliteKvStoreOptions {
  /** The database file (its folder is created), or `':memory:'` for a private store. */
  readonly path: string;
  /** @default DEFAULT_MAX_VALUE_BYTES, the same as the Dapr adapter */
  readonly maxValueBytes?: number;
  /** Milliseconds since the epoch; injectable so expiry tests need not sleep. @default Date.now */
  readonly now?: () => number;
  /** How long a write waits for another connection's lock before failing. @default 5000 */
  readonly busyTimeoutMs?: number;
}

// Expired rows read as absent at once; deleting them is housekeeping, done at most this
// often and this many at a time, inside a write that holds the lock anyway, so that no
// write pays for a large backlog.
const PURGE_INTERVAL_MS = 60_000;
const PURGE_BATCH = 256;

/**
 * A `KvStore` in one SQLite file (better-sqlite3, WAL): the embedded default.
 *
 * Every write runs in a `BEGIN IMMEDIATE` transaction that checks its condition and
 * writes while holding the file's write lock, so concurrent callers, in this process or
 * in others sharing the file, cannot both win a CAS or a create. ETags are values of
 * one counter kept in the file, never reused. `transact` is all or nothing.
 */
export function createSqliteKvStore(options: SqliteKvStoreOptions): KvStore {
  const { path, maxValueBytes = DEFAULT_MAX_VALUE_BYTES, now = Date.now, busyTimeoutMs = 5000 } = options;
  let open: OpenDatabase | undefined;
  let lastPurge = Number.NEGATIVE_INFINITY;

  function use<T>(operation: string, work: (db: OpenDatabase) => T): T {
    try {
      if (open === undefined)
        throw new AppError('DatabaseError', 'the SQLite store is not open: call init() first');
      return work(open);
    } catch (error) {
      translateSqliteError(error, operation);
    }
  }

  /** Runs `work` in one write transaction at one instant; it rolls back if `work` throws. */
  function write<T>(operation: string, work: (statements: KvStatements, at: number) => T): T {
    return use(operation, ({ statements, immediate }) =>
      immediate(() => {
        const at = now();
        const result = work(statements, at);
        if (at - lastPurge >= PURGE_INTERVAL_MS) {
          statements.purgeExpired.run(at, PURGE_BATCH);
          lastPurge = at;
        }
        return result;
      }),
    );
  }

  function validateSave(key: string, value: Json, saveOptions: SaveOptions | undefined): string {
    assertValidKvKey(key);
    assertValueFits(key, value, maxValueBytes);
    assertValidTtl(saveOptions?.ttlSeconds);
    return JSON.stringify(value);
  }

  return {
    traits: { name: 'embedded-sqlite', atomicTransactions: true, casOnMissingKey: 'conflicts' },
    limits: { maxValueBytes },

    async init() {
      if (open !== undefined) return;
      let db: Database.Database | undefined;
      try {
        if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
        db = new Database(path, { timeout: busyTimeoutMs });
        db.pragma('journal_mode = WAL');
        // With WAL, NORMAL loses at most the last transactions on power loss, never
        // consistency; FULL would fsync on every commit.
        db.pragma('synchronous = NORMAL');
        migrate(db);
        const transaction = db.transaction((work: () => unknown) => work());
        open = {
          db,
          statements: prepareKvStatements(db),
          // BEGIN IMMEDIATE takes the write lock before the condition is read, so two
          // connections cannot both read "absent" and then both write.
          immediate: <T>(work: () => T) => transaction.immediate(work) as T,
        };
      } catch (error) {
        db?.close();
        translateSqliteError(error, 'open');
      }
    },

    close() {
      return settle(() => {
        const db = open?.db;
        open = undefined;
        try {
          db?.close();
        } catch (error) {
          translateSqliteError(error, 'close');
        }
      });
    },

    get(key) {
      return settle(() => {
        assertValidKvKey(key);
        return use('get', ({ statements }) => {
          const row = statements.selectLive.get(key, now());
          return row === undefined ? undefined : toEntry(row);
        });
      });
    },

    getBulk(keys) {
      return settle(() => {
        keys.forEach(assertValidKvKey);
        if (keys.length === 0) return new Map<string, KvEntry>();
        return use('bulk get', ({ statements }) => {
          const rows = statements.selectLiveBulk.all(JSON.stringify(keys), now());
          return new Map(rows.map((row) => [row.key, toEntry(row)]));
        });
      });
    },

    save(key, value, saveOptions) {
      return settle(() => {
        const json = validateSave(key, value, saveOptions);
        return write('save', (statements, at) => applySave(statements, at, key, json, saveOptions));
      });
    },

    delete(key, deleteOptions) {
      return settle(() => {
        assertValidKvKey(key);
        write('delete', (statements, at) => applyDelete(statements, at, key, deleteOptions));
      });
    },

    transact(operations) {
      return settle(() => {
        // Every operation is checked before the transaction starts, so a bad key or an
        // oversized value in the last one writes nothing.
        const steps = operations.map(prepareOperation);
        if (steps.length === 0) return;
        write('transaction', (statements, at) => {
          for (const step of steps) step(statements, at);
        });
      });
    },
  };

  function prepareOperation(operation: KvOperation): (statements: KvStatements, at: number) => void {
    switch (operation.op) {
      case 'save': {
        const json = validateSave(operation.key, operation.value, operation.options);
        return (statements, at) => void applySave(statements, at, operation.key, json, operation.options);
      }
      case 'delete':
        assertValidKvKey(operation.key);
        return (statements, at) => applyDelete(statements, at, operation.key, operation.options);
    }
  }
}

interface OpenDatabase {
  readonly db: Database.Database;
  readonly statements: KvStatements;
  readonly immediate: <T>(work: () => T) => T;
}

function applySave(
  statements: KvStatements,
  at: number,
  key: string,
  json: string,
  options: SaveOptions | undefined,
): string {
  const current = statements.selectLive.get(key, at);
  if (options?.ifAbsent === true && current !== undefined) throw conflict(key, 'it already exists');
  if (options?.etag !== undefined && current?.etag !== options.etag)
    throw conflict(key, staleReason(current));
  const etag = String(statements.nextEtag.get()!.last);
  const ttl = options?.ttlSeconds;
  statements.upsert.run(key, json, etag, ttl === undefined ? null : at + ttl * 1000);
  return etag;
}

function applyDelete(
  statements: KvStatements,
  at: number,
  key: string,
  options: DeleteOptions | undefined,
): void {
  if (options?.etag !== undefined) {
    const current = statements.selectLive.get(key, at);
    if (current?.etag !== options.etag) throw conflict(key, staleReason(current));
  }
  statements.remove.run(key);
}

function toEntry(row: KvRow): KvEntry {
  // The column only ever holds JSON.stringify output; a row that no longer parses is a
  // damaged file, which the caller's translateSqliteError reports as DatabaseError.
  return { value: JSON.parse(row.value) as Json, etag: row.etag };
}

function staleReason(current: KvRow | undefined): string {
  return current === undefined ? 'it does not exist' : 'its ETag has changed';
}

function conflict(key: string, reason: string): AppError {
  return new AppError(
    'VersionConflict',
    `key ${JSON.stringify(key.slice(0, 80))} was not written: ${reason}`,
  );
}
