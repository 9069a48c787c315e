import { rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnProcess } from '../../src/testing/harness/index.ts';
import { agentstateApi, benchValue, mintToken } from '../lib/clients.ts';
import { measure, ratio, type Measurement } from '../lib/measure.ts';
import { RAW_SQLITE_READY, openRawSqlite } from '../lib/raw-sqlite-server.ts';
import { readyUrl } from '../lib/ready-line.ts';
import { errorNotes, fmt, type BenchContext, type WorkloadResult } from '../lib/results.ts';
import type { Target } from '../lib/targets.ts';

const AGENT = 'bench-agent';
const serverEntry = fileURLToPath(new URL('../lib/raw-sqlite-server.ts', import.meta.url));

interface Row {
  readonly op: 'get' | 'set';
  readonly concurrency: number;
  readonly agentstate: Measurement;
  readonly raw: Measurement;
  readonly ratio: number;
}

/**
 * The worker on its embedded store against better-sqlite3 doing one KvStore save or
 * get, both over HTTP from the same client (the raw one behind a bare node:http
 * server), plus better-sqlite3 called in process as the floor.
 */
export async function embeddedVsSqlite(ctx: BenchContext, target: Target): Promise<WorkloadResult> {
  const api = agentstateApi(ctx.http, target.worker.url, await mintToken('bench', AGENT));
  const proc = await spawnProcess({
    name: 'raw better-sqlite3 server',
    command: process.execPath,
    args: [serverEntry, 'serve'],
  });
  try {
    const rawUrl = await readyUrl(proc, RAW_SQLITE_READY);
    const rawKey = (kind: string, w: number) => `${rawUrl}/kv/${kind}-w${w}`;
    const { concurrencies, measureSeconds } = ctx.settings;
    const maxWriters = Math.max(...concurrencies);
    await Promise.all(
      Array.from({ length: maxWriters }, async (_, w) => {
        await api.set(AGENT, `get-w${w}`, benchValue(w, 0));
        await ctx.http.ok('PUT', rawKey('get', w), JSON.stringify(benchValue(w, 0)));
      }),
    );
    const rows: Row[] = [];
    // Each cell starts once the worker's background work from the one before has settled.
    const run = async (op: (w: number, n: number) => Promise<unknown>, concurrency: number) => {
      const m = await measure(async (w, n) => void (await op(w, n)), {
        concurrency,
        durationMs: measureSeconds * 1000,
        warmupOpsPerWriter: 3,
      });
      await target.worker.waitQuiet();
      return m;
    };
    for (const concurrency of concurrencies) {
      ctx.progress(
        `${target.name}: ${ctx.settings.ops.join(' and ')} at concurrency ${concurrency} against raw better-sqlite3`,
      );
      if (ctx.settings.ops.includes('set')) {
        const set = await run((w, n) => api.set(AGENT, `set-w${w}`, benchValue(w, n)), concurrency);
        const rawSet = await run(
          (w, n) => ctx.http.ok('PUT', rawKey('set', w), JSON.stringify(benchValue(w, n))),
          concurrency,
        );
        rows.push({
          op: 'set',
          concurrency,
          agentstate: set,
          raw: rawSet,
          ratio: ratio(set.opsPerSec, rawSet.opsPerSec),
        });
      }
      if (ctx.settings.ops.includes('get')) {
        const get = await run((w) => api.get(AGENT, `get-w${w}`), concurrency);
        const rawGet = await run((w) => ctx.http.ok('GET', rawKey('get', w)), concurrency);
        rows.push({
          op: 'get',
          concurrency,
          agentstate: get,
          raw: rawGet,
          ratio: ratio(get.opsPerSec, rawGet.opsPerSec),
        });
      }
    }
    const inProcess = await rawInProcess(measureSeconds * 1000);
    return {
      sections: [
        {
          title: 'Embedded mode against raw better-sqlite3',
          description:
            `The worker on its embedded SQLite store (REST, as above) against better-sqlite3 doing what one KvStore save or get does, ` +
            `behind a bare node:http server and called by the same client; ${measureSeconds} s per cell. Latencies in ms. ` +
            `In process, without HTTP, better-sqlite3 does ${fmt.ops(inProcess.saves)} saves/s and ${fmt.ops(inProcess.gets)} gets/s on one thread.`,
          table: {
            columns: [
              'op',
              'concurrency',
              'agentstate ops/s',
              'p50',
              'p99',
              'raw over HTTP ops/s',
              'p50',
              'p99',
              'ratio',
            ],
            rows: rows.map((r) => [
              r.op,
              String(r.concurrency),
              fmt.ops(r.agentstate.opsPerSec),
              fmt.ms(r.agentstate.p50Ms),
              fmt.ms(r.agentstate.p99Ms),
              fmt.ops(r.raw.opsPerSec),
              fmt.ms(r.raw.p50Ms),
              fmt.ms(r.raw.p99Ms),
              fmt.ratio(r.ratio),
            ]),
          },
          notes: rows.flatMap((r) => [
            ...errorNotes(`agentstate ${r.op}`, r.agentstate),
            ...errorNotes(`raw ${r.op}`, r.raw),
          ]),
        },
      ],
      budgets: [],
      headlines: (['get', 'set'] as const)
        .map((op) => rows.filter((r) => r.op === op))
        .filter((opRows) => opRows.length > 0)
        .map((opRows) => ({
          measure: `embedded ${opRows[0]!.op} vs raw better-sqlite3 over HTTP, concurrency ${opRows.map((r) => r.concurrency).join(' / ')}`,
          target: target.name,
          result: opRows.map((r) => fmt.ratio(r.ratio)).join(' / '),
        })),
      data: { rows, inProcess },
    };
  } finally {
    await proc.stop(5_000);
  }
}

/** Sequential saves, then gets, of 32 keys in this process for `ms` each: ops per second. */
async function rawInProcess(ms: number): Promise<{ saves: number; gets: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'agentstate-bench-raw-'));
  const store = openRawSqlite(join(dir, 'kv.sqlite'));
  try {
    const loop = (op: (n: number) => void) => {
      const started = performance.now();
      let n = 0;
      while (performance.now() - started < ms) op(n++);
      return (n / (performance.now() - started)) * 1000;
    };
    const saves = loop((n) => store.save(`set-w${n % 32}`, JSON.stringify(benchValue(n % 32, n))));
    const gets = loop((n) => store.get(`set-w${n % 32}`));
    return { saves, gets };
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
