import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

// The baseline of embedded mode: better-sqlite3 on its own, doing what one KvStore save
// and get do (WAL, synchronous=NORMAL, BEGIN IMMEDIATE, an ETag from a counter row, an
// upsert), behind a bare node:http server so it is reached the same way as the worker:
//   PUT /kv/{key} (body: JSON) · GET /kv/{key}

export const RAW_SQLITE_READY = 'BENCH_RAW_SQLITE_READY ';

/** Opens the database with the embedded store's schema and settings; answers save and get. */
export function openRawSqlite(path: string) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, etag TEXT NOT NULL, expires_at INTEGER) STRICT;
           CREATE TABLE IF NOT EXISTS etag_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL) STRICT;
           INSERT OR IGNORE INTO etag_sequence (id, last) VALUES (1, 0);`);
  const select = db.prepare<[string, number], { value: string; etag: string }>(
    'SELECT value, etag FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
  );
  const nextEtag = db.prepare<[], { last: number }>(
    'UPDATE etag_sequence SET last = last + 1 WHERE id = 1 RETURNING last',
  );
  const upsert = db.prepare<[string, string, string]>(
    `INSERT INTO kv (key, value, etag, expires_at) VALUES (?, ?, ?, NULL)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = NULL`,
  );
  const save = db
    .transaction((key: string, json: string) => {
      select.get(key, Date.now());
      const etag = String(nextEtag.get()!.last);
      upsert.run(key, json, etag);
      return etag;
    })
    .immediate.bind(undefined);
  return {
    save: (key: string, json: string) => save(key, json),
    get: (key: string) => select.get(key, Date.now()),
    close: () => db.close(),
  };
}

async function serve(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'agentstate-bench-raw-'));
  const store = openRawSqlite(join(dir, 'kv.sqlite'));
  const server = createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/kv\//, ''));
    if (req.method === 'GET') {
      const row = store.get(key);
      res.statusCode = row === undefined ? 404 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(row === undefined ? '{}' : `{"value":${row.value},"etag":"${row.etag}"}`);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const json = Buffer.concat(chunks).toString('utf8');
      JSON.parse(json); // validated, as a real endpoint would
      const etag = store.save(key, json);
      res.setHeader('content-type', 'application/json');
      res.end(`{"etag":"${etag}"}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  process.stdout.write(`${RAW_SQLITE_READY}${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    store.close();
    void rm(dir, { recursive: true, force: true }).finally(() => process.exit(0));
  });
}

if (process.argv[2] === 'serve') await serve();
