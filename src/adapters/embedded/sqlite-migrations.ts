import type Database from 'better-sqlite3';
import { AppError } from '../../core/errors.ts';

/**
 * The schema of the embedded key-value store, one entry per version: `PRAGMA
 * user_version` counts the entries applied. Append, never edit, so that a file written
 * by any earlier release upgrades in place.
 */
export const migrations: readonly string[] = [
  `CREATE TABLE kv (
     key TEXT PRIMARY KEY NOT NULL,
     value TEXT NOT NULL,
     etag TEXT NOT NULL,
     expires_at INTEGER
   ) STRICT;
   CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;
   -- One counter for the whole file, so an ETag is never handed out twice, not even
   -- after its key is deleted and created again.
   CREATE TABLE etag_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL) STRICT;
   INSERT INTO etag_sequence (id, last) VALUES (1, 0);`,
];

/**
 * Brings the database up to the latest version in one write transaction, so that
 * several processes opening the same new file migrate it exactly once. A file from a
 * newer release is refused with `IncompatibleVersion` rather than misread.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > migrations.length) {
      throw new AppError(
        'IncompatibleVersion',
        `the key-value database is at schema version ${version}; this release knows versions up to ${migrations.length}`,
      );
    }
    for (const sql of migrations.slice(version)) db.exec(sql);
    db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}
