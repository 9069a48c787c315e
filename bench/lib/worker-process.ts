import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { getHeapSpaceStatistics } from 'node:v8';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger, logDestination } from '../../src/logging.ts';
import { createStateServices } from '../../src/service/state-services.ts';
import { startWorker } from '../../src/service/worker.ts';
import { TEST_TOKEN_KEY } from '../../src/testing/api/test-worker.ts';
import { countingKvStore, type CountingKvStore, type KvCounters } from './counting-kv-store.ts';
import { largeSeedValue, seedKey, seedValue } from './seed-keys.ts';
import {
  WORKER_READY,
  seedRequestSchema,
  workerSpecSchema,
  type SeedRequest,
  type WorkerMemory,
} from './worker-spec.ts';

const SEED_BATCH = 1_000;
const SEED_BYTES = 4 * 1024 * 1024;

// The agentstate worker of one bench target, in a process of its own as in production,
// so the load generator does not share its event loop. It is configured like the test
// workers of src/testing/api/test-worker.ts, with its store wrapped by a counting
// KvStore, and answers the counters on a second loopback port:
//   GET /counters · POST /counters/on (from zero) · POST /counters/off (answers the counts)
//   POST /seed {tenant, agent, from, to, valueBytes?}: writes keys seedKey(from..to-1) by bulk load
//   GET /memory: the process's resident set size now, and what V8 holds of it (WorkerMemory)

const spec = workerSpecSchema.parse(JSON.parse(process.env['BENCH_WORKER_SPEC'] ?? '{}'));
let dataDir: string | undefined;
let env: Record<string, string>;
if (spec.store === 'embedded') {
  dataDir = await mkdtemp(join(tmpdir(), 'agentstate-bench-'));
  await writeFile(join(dataDir, 'secrets.json'), JSON.stringify({ 'agentstate-token-key': TEST_TOKEN_KEY }));
  env = { PORT: '0', AGENTSTATE_STORE: 'embedded', AGENTSTATE_DATA_DIR: dataDir };
} else {
  env = {
    PORT: String(spec.appPort),
    AGENTSTATE_STORE: 'dapr',
    DAPR_HTTP_PORT: String(spec.daprHttpPort),
    DAPR_GRPC_PORT: String(spec.daprGrpcPort),
  };
}
const config = loadConfig({ HOST: '127.0.0.1', LOG_LEVEL: spec.logLevel, ...env });
// Request logs are written as in production, to a sink nobody reads.
const logger = createLogger(config.logLevel, logDestination('/dev/null'));

// Which store calls a caller waited for: each request of the worker's server enters an
// async context that its answer marks answered, so a call made after the answer (the
// engine's background work, which inherits the context) counts as background.
const requestContext = new AsyncLocalStorage<{ answered: boolean }>();
let counting: CountingKvStore | undefined;
let countingOn = false;
const sidecar = { requests: 0, beforeAnswer: 0 };
const control = createServer((req, res) => {
  if (counting === undefined) throw new Error('the worker has not started');
  if (req.method === 'POST' && req.url === '/seed') {
    void answerSeed(req, res);
    return;
  }
  if (req.method === 'GET' && req.url === '/memory') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(workerMemory()));
    return;
  }
  if (req.method === 'POST' && req.url === '/counters/on') {
    counting.reset();
    sidecar.requests = 0;
    sidecar.beforeAnswer = 0;
    counting.setEnabled((countingOn = true));
  }
  if (req.method === 'POST' && req.url === '/counters/off') counting.setEnabled((countingOn = false));
  const counters: KvCounters = {
    ...counting.snapshot(),
    ...(spec.store === 'dapr' ? { sidecar: { ...sidecar } } : {}),
  };
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(counters));
});
subscribe('http.server.request.start', (message) => {
  const { server, response } = message as { server: Server; response: ServerResponse };
  if (server === control) return;
  const request = { answered: false };
  requestContext.enterWith(request);
  response.once('finish', () => (request.answered = true));
});
// The engine starts its background work (usage, collection) right after a commit,
// before the route writes the answer, so the request's context alone would count its
// first calls as waited for. A call made inside a task of background-work.ts (its frame,
// or an async frame awaiting the task, is on the stack) is background whatever the
// context says. The stack is taken only while counting is on.
const BACKGROUND_FRAME = '/core/engine/background-work.ts';
function inBackgroundWork(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return stack.includes(BACKGROUND_FRAME);
}
const beforeAnswer = () => requestContext.getStore()?.answered === false && !inBackgroundWork();

// The Dapr adapters call daprd with fetch (undici), whose diagnostics channel sees each
// request: one store call may be several requests (an ETag read back, a retry).
if (spec.store === 'dapr') {
  const daprOrigin = `:${spec.daprHttpPort}`;
  subscribe('undici:request:create', (message) => {
    const { request } = message as { request: { origin: string } };
    if (counting === undefined || !countingOn || !String(request.origin).endsWith(daprOrigin)) return;
    sidecar.requests++;
    if (beforeAnswer()) sidecar.beforeAnswer++;
  });
}

const worker = await startWorker(config, logger, {
  notice: () => undefined,
  wrapKv: (kv) => (counting = countingKvStore(kv, { beforeAnswer })).store,
});

// Seeding a namespace of 100k keys through the REST API, one create at a time, would
// take longer than the whole bench; the engine's bulk load (the restore path: many keys
// per store call, the same records a write leaves) builds it far faster.
const seedServices = createStateServices(worker.adapters, config.limits);
async function seed({ tenant, agent, from, to, valueBytes }: SeedRequest): Promise<number> {
  const state = seedServices.persistent(tenant, agent);
  // Large values go a few at a time, so the seed itself holds little in memory.
  const batch = valueBytes === undefined ? SEED_BATCH : Math.max(1, Math.floor(SEED_BYTES / valueBytes));
  for (let start = from; start < to; start += batch) {
    const items = [];
    for (let i = start; i < Math.min(to, start + batch); i++)
      items.push({
        key: seedKey(i),
        value: valueBytes === undefined ? seedValue(i) : largeSeedValue(valueBytes),
      });
    await state.load(items);
  }
  await state.settle();
  return to - from;
}

async function answerSeed(req: IncomingMessage, res: ServerResponse) {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const keys = await seed(seedRequestSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  } catch (error) {
    res.statusCode = 500;
    res.end(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
}

function workerMemory(): WorkerMemory {
  const { rss, heapTotal, external } = process.memoryUsage();
  const spaces = getHeapSpaceStatistics();
  const size = (names: readonly string[]) =>
    spaces.filter((s) => names.includes(s.space_name)).reduce((sum, s) => sum + s.space_size, 0);
  return { rss, heapTotal, youngGeneration: size(['new_space', 'new_large_object_space']), external };
}

control.listen(0, '127.0.0.1');
await new Promise((resolve) => control.once('listening', resolve));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
process.stdout.write(`${WORKER_READY}${JSON.stringify({ url: worker.url, controlUrl })}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  control.close();
  void worker
    .close()
    .then(() => (dataDir === undefined ? undefined : rm(dataDir, { recursive: true, force: true })))
    // An explicit exit writes the --cpu-prof profile.
    .finally(() => process.exit(0));
});
