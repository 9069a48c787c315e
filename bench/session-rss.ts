// Peak memory of exporting and importing one large session (issue: large documents
// stream). Not a benchmark of time, and not part of `npm run bench`:
//
//   node bench/session-rss.ts [--messages 100000] [--content-bytes 200] [--export-heap-mb 48]
//
// It starts an embedded worker as a child process, writes a snapshot file of a session
// with that many messages, imports it with the CLI (`session import`), exports it again
// (`session export --output`), checks that the export holds the same messages, and
// prints the peak RSS of the worker (VmHWM; a fresh worker for each) and of each CLI
// run (GNU time's %M),
// beside the size of the document.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { issueToken } from '../src/core/identity/tokens.ts';
import { withChecksum } from '../src/portability/checksum.ts';
import { freePort } from '../src/testing/harness/free-port.ts';

const { values } = parseArgs({
  options: {
    'export-heap-mb': { type: 'string' },
    messages: { type: 'string', default: '100000' },
    'content-bytes': { type: 'string', default: '200' },
  },
});
const count = Number(values.messages);
const contentBytes = Number(values['content-bytes']);
const root = new URL('../', import.meta.url).pathname;
const key = 'agentstate-rss-measurement-key-not-for-production';

const dir = await mkdtemp(join(tmpdir(), 'agentstate-rss-'));
await writeFile(join(dir, 'secrets.json'), JSON.stringify({ 'agentstate-token-key': key }));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const startWorker = (nodeFlags: string[] = []) =>
  spawn(process.execPath, [...nodeFlags, join(root, 'src/main.ts'), 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AGENTSTATE_STORE: 'embedded',
      AGENTSTATE_DATA_DIR: dir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
const stopWorker = async (child: ChildProcess) => {
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
};
// One worker for the import and a fresh one for the export (on the same data folder),
// so that each peak is that operation's own, not the garbage the other left.
let worker = startWorker();
try {
  await waitReady(url);
  const token = (await issueToken(key, { tenant: 'rss', subject: 'ops', roles: ['operator'] })).token;
  const sessionId = randomUUID();
  const file = join(dir, 'session.json');
  const createdAt = new Date().toISOString();
  const filler = 'x'.repeat(contentBytes);
  const snapshot = withChecksum({
    schema_version: 1,
    tenant_id: 'rss',
    agent_id: 'bot',
    session_id: sessionId,
    status: 'active',
    created_at: createdAt,
    messages: Array.from({ length: count }, (_, i) => ({
      seq: i + 1,
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: `${i} ${filler}`,
      timestamp: createdAt,
    })),
    events: [],
    event_log_count: 0,
    tags: {},
    source_environment: 'rss',
    exported_at: createdAt,
  });
  await writeFile(file, JSON.stringify(snapshot));
  const documentBytes = (await stat(file)).size;
  const workerAtStart = await peakRss(worker.pid ?? 0);

  const cli = ['--url', url, '--token', token];
  const imported = await timedCli(['session', 'import', file, '--json', ...cli]);
  const workerAfterImport = await peakRss(worker.pid ?? 0);
  await stopWorker(worker);
  // With --export-heap-mb the exporting worker's V8 heap is capped: an export that held
  // the session whole would fail; one that streams finishes.
  const heap = values['export-heap-mb'];
  worker = startWorker(heap === undefined ? [] : [`--max-old-space-size=${heap}`]);
  await waitReady(url);
  const exportWorkerAtStart = await peakRss(worker.pid ?? 0);
  const out = join(dir, 'exported.json');
  const exported = await timedCli([
    'session',
    'export',
    'bot',
    '--session',
    sessionId,
    '--output',
    out,
    ...cli,
  ]);
  const workerAfterExport = await peakRss(worker.pid ?? 0);

  const again = JSON.parse(await readFile(out, 'utf8')) as { messages: unknown[] };
  if (!isDeepStrictEqual(again.messages, snapshot.messages))
    throw new Error('the exported session does not hold the imported messages');

  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  console.log(`session of ${count} messages: document ${mb(documentBytes)}`);
  console.log(`worker peak RSS (VmHWM): importing ${mb(workerAtStart)} -> ${mb(workerAfterImport)}`);
  console.log(`worker peak RSS (VmHWM): exporting ${mb(exportWorkerAtStart)} -> ${mb(workerAfterExport)}`);
  console.log(`CLI peak RSS: session import ${mb(imported)}, session export --output ${mb(exported)}`);
} finally {
  await stopWorker(worker);
  await rm(dir, { recursive: true, force: true });
}

async function waitReady(base: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the worker did not start');
}

/** The peak resident set of a live process, in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error('no VmHWM in /proc status');
  return Number(kb) * 1024;
}

/** Runs the CLI under GNU time; answers its peak RSS in bytes. */
async function timedCli(args: string[]): Promise<number> {
  const child = spawn(
    '/usr/bin/time',
    ['-f', 'maxrss-kb=%M', process.execPath, join(root, 'bin/agentstate.js'), ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`agentstate ${args.slice(0, 2).join(' ')} failed:\n${stderr}`);
  const kb = /maxrss-kb=(\d+)/.exec(stderr)?.[1];
  if (kb === undefined) throw new Error(`no peak RSS from time:\n${stderr}`);
  return Number(kb) * 1024;
}
