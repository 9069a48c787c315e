import type Database from 'better-sqlite3';

// Every statement of the embedded key-value store. A row whose `expires_at` is not
// after `now` is expired: it reads as absent and every condition treats it as absent;
// `purgeExpired` removes such rows in bounded batches.

export interface KvRow {
  readonly key: string;
  readonly value: string;
  readonly etag: string;
}

export interface KvStatements {
  readonly selectLive: Database.Statement<[key: string, now: number], KvRow>;
  /** Takes the keys as one JSON array, so any number of them is one query. */
  readonly selectLiveBulk: Database.Statement<[keysJson: string, now: number], KvRow>;
  readonly nextEtag: Database.Statement<[], { readonly last: number }>;
  readonly upsert: Database.Statement<[key: string, value: string, etag: string, expiresAt: number | null]>;
  readonly remove: Database.Statement<[key: string]>;
  readonly purgeExpired: Database.Statement<[now: number, batch: number]>;
}

const LIVE = '(expires_at IS NULL OR expires_at > ?)';

export function prepareKvStatements(db: Database.Database): KvStatements {
  return {
    selectLive: db.prepare(`SELECT key, value, etag FROM kv WHERE key = ? AND ${LIVE}`),
    selectLiveBulk: db.prepare(
      `SELECT key, value, etag FROM kv WHERE key IN (SELECT value FROM json_each(?)) AND ${LIVE}`,
    ),
    nextEtag: db.prepare('UPDATE etag_sequence SET last = last + 1 WHERE id = 1 RETURNING last'),
    upsert: db.prepare(
      `INSERT INTO kv (key, value, etag, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at`,
    ),
    remove: db.prepare('DELETE FROM kv WHERE key = ?'),
    purgeExpired: db.prepare(
      'DELETE FROM kv WHERE key IN (SELECT key FROM kv WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)',
    ),
  };
}
