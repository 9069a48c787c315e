import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import {
  findPostgresBinDir,
  startPostgres,
  startRedis,
  type PostgresServer,
  type RedisServer,
} from '../src/testing/harness/index.ts';
import { createHttpClient } from './lib/http-client.ts';
import { describeMachine } from './lib/machine.ts';
import type { Measurement } from './lib/measure.ts';
import { summarizeProfiles, type MeasuredWindow } from './lib/profile-report.ts';
import { replaceSummary } from './lib/readme-summary.ts';
import { renderJson, renderMarkdown, renderSummary, type BenchReport } from './lib/report.ts';
import type { BenchContext, BudgetCheck, Headline, Section, WorkloadResult } from './lib/results.ts';
import { startDaprTarget, startEmbeddedTarget, type Target, type TargetOptions } from './lib/targets.ts';
import { distinctKeys } from './workloads/distinct-keys.ts';
import { embeddedVsSqlite } from './workloads/embedded-vs-sqlite.ts';
import { namespaceSize } from './workloads/namespace-size.ts';
import { aesGcm } from './workloads/aes-gcm.ts';
import { backupRestore } from './workloads/backup-restore.ts';
import { persistentGetSet } from './workloads/persistent-get-set.ts';
import { sharedCounter } from './workloads/shared-counter.ts';
import { storeCalls } from './workloads/store-calls.ts';
import { langgraphCheckpoints } from './workloads/langgraph-checkpoints.ts';

const USAGE = `usage: npm run bench -- [--quick] [--json] [--only a,b] [--concurrency 1,8,32] [--ops get,set] [--backup-mib 1024] [--cpu-prof]
  --quick     1 s measurements, namespace 1k vs 10k keys (about 5 minutes)
  --json      machine-readable results on stdout (progress stays on stderr)
  --only      some workloads: persistent,calls,distinct,counter,namespace,backup,langgraph,embedded,crypto
              and/or stores: redis,postgres,embedded (BENCHMARKS.md is not written)
  --concurrency  the concurrencies of persistent and embedded get/set (BENCHMARKS.md is not written)
  --ops       only these of persistent and embedded get/set (BENCHMARKS.md is not written)
  --backup-mib  MiB backed up and restored by the backup workload (default 1024, quick 64)
  --cpu-prof  write a CPU profile of each worker process to bench/profiles/;
              and a summary of each beside it (bench/profiles/<worker>.md)`;

const WORKLOADS = [
  'persistent',
  'calls',
  'distinct',
  'counter',
  'namespace',
  'backup',
  'langgraph',
  'embedded',
  'crypto',
] as const;
/** The workloads that run on daprd; each runs on Redis and on PostgreSQL. */
const DAPR_WORKLOADS = ['persistent', 'calls', 'distinct', 'counter', 'namespace', 'langgraph'] as const;
const STORES = ['redis', 'postgres', 'embedded'] as const;

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    concurrency: { type: 'string' },
    ops: { type: 'string' },
    'backup-mib': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const only = args.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((name) => !([...WORKLOADS, ...STORES] as readonly string[]).includes(name));
if (unknown !== undefined && unknown.length > 0) {
  process.stderr.write(`unknown --only names: ${unknown.join(', ')}\n${USAGE}\n`);
  process.exit(2);
}
const concurrencies = args.concurrency?.split(',').map(Number) ?? [1, 8, 32];
const ops = args.ops?.split(',').map((s) => s.trim()) ?? ['get', 'set'];
if (
  concurrencies.some((n) => !Number.isInteger(n) || n < 1) ||
  ops.some((op) => op !== 'get' && op !== 'set')
) {
  process.stderr.write(`--concurrency takes whole numbers, --ops get and/or set\n${USAGE}\n`);
  process.exit(2);
}
const backupMib = Number(args['backup-mib'] ?? (args.quick ? 64 : 1024));
if (!Number.isInteger(backupMib) || backupMib < 1) {
  process.stderr.write(`--backup-mib takes a whole number of MiB\n${USAGE}\n`);
  process.exit(2);
}
// A partial run is for development and profiling: it never overwrites BENCHMARKS.md.
const partial =
  only !== undefined ||
  args.concurrency !== undefined ||
  args.ops !== undefined ||
  args['backup-mib'] !== undefined;
const pickedWorkloads = only?.filter((n) => (WORKLOADS as readonly string[]).includes(n)) ?? [];
const pickedStores = only?.filter((n) => (STORES as readonly string[]).includes(n)) ?? [];
const wants = (workload: (typeof WORKLOADS)[number]) =>
  pickedWorkloads.length === 0 || pickedWorkloads.includes(workload);
const wantsStore = (store: (typeof STORES)[number]) =>
  pickedStores.length === 0 || pickedStores.includes(store);

const quick = args.quick;
const started = Date.now();
const progress = (message: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
const http = createHttpClient();
const ctx: BenchContext = {
  settings: {
    quick,
    measureSeconds: quick ? 1 : 4,
    concurrencies,
    ops: ops.filter((op): op is 'get' | 'set' => op === 'get' || op === 'set'),
  },
  http,
  progress,
};
const cpuProfDir = args['cpu-prof'] ? fileURLToPath(new URL('./profiles/', import.meta.url)) : undefined;
const targetOptions: TargetOptions = {
  http,
  logLevel: 'info',
  ...(cpuProfDir === undefined ? {} : { cpuProfDir }),
};

const sections: Section[] = [];
const budgets: BudgetCheck[] = [];
const headlines: Headline[] = [];
const skipped: string[] = [];
const data: Record<string, unknown> = {};

/** Runs one workload; a failure is reported and the run goes on with the next. */
async function step(name: string, run: () => Promise<WorkloadResult>): Promise<void> {
  try {
    const result = await run();
    sections.push(...result.sections);
    budgets.push(...result.budgets);
    headlines.push(...(result.headlines ?? []));
    data[name] = result.data;
  } catch (error) {
    const message =
      error instanceof Error ? error.message.split('\n').slice(0, 6).join(' / ') : String(error);
    progress(`${name} failed: ${message}`);
    skipped.push(`${name}: failed: ${message}`);
  }
}

/** Starts a target, runs workloads on it, and stops it whatever happens. */
async function onTarget(
  label: string,
  start: () => Promise<Target>,
  work: (target: Target) => Promise<void>,
) {
  progress(`starting ${label}`);
  let target: Target;
  try {
    target = await start();
  } catch (error) {
    skipped.push(
      `${label}: could not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    );
    return;
  }
  try {
    await work(target);
  } finally {
    await target.close();
  }
}

/**
 * The spans in which the agentstate side of persistent get/set was measured: a worker's
 * profile is summarized over these alone, so its figures are per request.
 */
function measuredWindows(): MeasuredWindow[] {
  return Object.entries(data)
    .filter(([name]) => name.startsWith('persistent-'))
    .flatMap(([, rows]) => rows as readonly { agentstate: Measurement }[])
    .map(({ agentstate: m }) => ({ startUs: m.startedUs, endUs: m.endedUs, ops: m.ops }));
}

/** Rewrites the README's summary between its markers; the rest of the README is left alone. */
async function writeReadmeSummary(report: BenchReport): Promise<void> {
  const path = fileURLToPath(new URL('../README.md', import.meta.url));
  const summary = await format(renderSummary(report), { ...(await resolveConfig(path)), parser: 'markdown' });
  try {
    await writeFile(path, replaceSummary(await readFile(path, 'utf8'), summary));
    progress('wrote the summary in README.md');
  } catch (error) {
    progress(`README.md not updated: ${error instanceof Error ? error.message : String(error)}`);
  }
}

let redis: RedisServer | undefined;
let postgres: PostgresServer | undefined;
try {
  const daprWorkloads =
    ([...DAPR_WORKLOADS, 'backup'] as const).some(wants) && (wantsStore('redis') || wantsStore('postgres'));
  const machine = await describeMachine(repoRoot, daprWorkloads);
  progress(
    `load average ${machine.loadAverage.map((n) => n.toFixed(2)).join(', ')} on ${machine.cores} cores`,
  );
  if (cpuProfDir !== undefined) progress(`CPU profiles of the workers go to ${cpuProfDir}`);
  if (daprWorkloads) redis = await startRedis();

  const daprRun = async (target: Target, store: 'redis' | 'postgres') => {
    if (wants('persistent')) await step(`persistent-${store}`, () => persistentGetSet(ctx, target));
    if (wants('calls')) await step(`calls-${store}`, () => storeCalls(ctx, target));
    if (wants('distinct')) await step(`distinct-${store}`, () => distinctKeys(ctx, target));
    if (wants('counter')) await step(`counter-${store}`, () => sharedCounter(ctx, target));
    if (wants('namespace'))
      await step(`namespace-${store}`, () =>
        namespaceSize(ctx, target, quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]),
      );
    // Against checkpoint-postgres on the same server: only on PostgreSQL.
    if (wants('langgraph') && store === 'postgres' && postgres !== undefined) {
      const server = postgres;
      await step('langgraph', () => langgraphCheckpoints(ctx, target, server));
    }
  };
  if (redis !== undefined && wantsStore('redis')) {
    const servers = { redis };
    await onTarget(
      'daprd + Redis',
      () => startDaprTarget('redis', servers, targetOptions),
      async (target) => {
        await daprRun(target, 'redis');
        // On Redis only, last: it fills the store with a GiB nothing else should read.
        if (wants('backup'))
          await step('backup-redis', () => backupRestore(ctx, target, backupMib * 1024 * 1024));
      },
    );
  }
  if (redis !== undefined && wantsStore('postgres') && DAPR_WORKLOADS.some(wants)) {
    if ((await findPostgresBinDir()) === undefined)
      skipped.push('daprd + PostgreSQL: PostgreSQL is not installed');
    else {
      postgres = await startPostgres();
      const servers = { redis, postgres };
      await onTarget(
        'daprd + PostgreSQL',
        () => startDaprTarget('postgres', servers, targetOptions),
        (target) => daprRun(target, 'postgres'),
      );
    }
  }

  if (wantsStore('embedded') && (['embedded', 'calls', 'counter'] as const).some(wants)) {
    await onTarget(
      'embedded',
      () => startEmbeddedTarget(targetOptions),
      async (target) => {
        if (wants('embedded')) await step('embedded', () => embeddedVsSqlite(ctx, target));
        if (wants('calls')) await step('calls-embedded', () => storeCalls(ctx, target));
        if (wants('counter')) await step('counter-embedded', () => sharedCounter(ctx, target));
      },
    );
  }

  // In the bench process and on no store: last, when no worker or sidecar competes for
  // the cores (Redis and PostgreSQL still run, idle).
  if (wants('crypto')) await step('crypto', () => aesGcm(ctx));

  const invokedArgs = process.argv.slice(2).join(' ');
  const command =
    process.env['npm_lifecycle_event'] === 'bench'
      ? `npm run bench${invokedArgs === '' ? '' : ` -- ${invokedArgs}`}`
      : `node bench/run.ts${invokedArgs === '' ? '' : ` ${invokedArgs}`}`;
  const report: BenchReport = {
    command,
    mode: quick ? 'quick' : 'full',
    startedAt: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
    durationSeconds: (Date.now() - started) / 1000,
    machine,
    loadAverageAtEnd: loadavg(),
    budgets,
    sections,
    headlines,
    skipped,
    data,
  };
  if (!partial) {
    const path = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
    // Formatted as the repository's prettier would, so `prettier --check .` passes on it.
    const markdown = await format(renderMarkdown(report), {
      ...(await resolveConfig(path)),
      parser: 'markdown',
    });
    await writeFile(path, markdown);
    progress('wrote BENCHMARKS.md');
    await writeReadmeSummary(report);
  } else progress('a partial run: BENCHMARKS.md not written');
  if (cpuProfDir !== undefined) {
    // The workers wrote their profiles when they stopped, with their targets.
    const written = await summarizeProfiles(cpuProfDir, started, {
      command,
      startedAt: report.startedAt,
      windows: measuredWindows(),
    });
    for (const path of written) progress(`wrote ${path}`);
  }
  if (args.json) process.stdout.write(renderJson(report));
  else if (partial) process.stderr.write(renderMarkdown(report));
  const notMet = budgets.filter((b) => b.met === false).length;
  progress(`done: ${budgets.filter((b) => b.met === true).length} budgets met, ${notMet} not met`);
} finally {
  http.close();
  await postgres?.stop();
  await redis?.stop();
}
