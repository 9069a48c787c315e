import { startBareProxy, type BareProxy } from '../lib/bare-proxy.ts';
import { agentstateApi, benchValue, daprStateApi, mintToken } from '../lib/clients.ts';
import { CPU_DESCRIPTION, cpuTable } from '../lib/cpu-table.ts';
import { measure, ratio, type Measurement } from '../lib/measure.ts';
import { errorNotes, fmt, type BenchContext, type BudgetCheck, type WorkloadResult } from '../lib/results.ts';
import type { Target } from '../lib/targets.ts';

const AGENT = 'bench-agent';

interface Row {
  readonly op: 'get' | 'set';
  readonly concurrency: number;
  readonly agentstate: Measurement;
  readonly direct: Measurement;
  readonly ratio: number;
  /** The bare Node.js proxy on the same daprd: Node's HTTP in and out and nothing else. */
  readonly bareProxy: Measurement;
  readonly bareProxyRatio: number;
}

/**
 * Persistent get and set through agentstate's REST API against the same get and save
 * straight on daprd's state API, on the same daprd and store, at each concurrency.
 * Each writer has its own key (all keys of one agent); sets are updates whose size
 * changes, as an agent's are. A bare node:http proxy making the same sidecar calls
 * as agentstate's acknowledged path and nothing else (bench/lib/bare-proxy-server.ts)
 * runs each cell too: what a Node.js worker costs with nothing of its own.
 */
export async function persistentGetSet(ctx: BenchContext, target: Target): Promise<WorkloadResult> {
  if (target.daprEndpoint === undefined) throw new Error('persistent get/set needs a Dapr target');
  const token = await mintToken('bench', AGENT);
  const api = agentstateApi(ctx.http, target.worker.url, token);
  const dapr = daprStateApi(ctx.http, target.daprEndpoint);
  const directKey = (kind: string, writer: number) => `bench-direct/${kind}-w${writer}`;
  const proxy = await startBareProxy(ctx.http, target);
  try {
    return await measureCells(ctx, target, { api, dapr, directKey, proxy });
  } finally {
    await proxy.stop();
  }
}

interface Clients {
  readonly api: ReturnType<typeof agentstateApi>;
  readonly dapr: ReturnType<typeof daprStateApi>;
  readonly directKey: (kind: string, writer: number) => string;
  readonly proxy: BareProxy;
}

async function measureCells(
  ctx: BenchContext,
  target: Target,
  { api, dapr, directKey, proxy }: Clients,
): Promise<WorkloadResult> {
  const { concurrencies, measureSeconds } = ctx.settings;
  const maxWriters = Math.max(...concurrencies);

  ctx.progress(`${target.name}: writing ${maxWriters} keys to read`);
  await Promise.all(
    Array.from({ length: maxWriters }, async (_, w) => {
      await api.set(AGENT, `get-w${w}`, benchValue(w, 0));
      await dapr.save(directKey('get', w), benchValue(w, 0));
      await proxy.set(`get-w${w}`, benchValue(w, 0));
    }),
  );

  const rows: Row[] = [];
  const durationMs = measureSeconds * 1000;
  // Each cell starts once the background work of the one before has settled, so a get
  // is not measured against the sets' leftovers; the time that took is reported.
  const notes: string[] = [];
  const run = async (
    label: string,
    op: (w: number, n: number) => Promise<unknown>,
    concurrency: number,
    cpu = target.processes,
  ) => {
    const m = await measure(async (w, n) => void (await op(w, n)), {
      concurrency,
      durationMs,
      warmupOpsPerWriter: 3,
      cpu,
    });
    const settleStart = performance.now();
    const quiet = await target.worker.waitQuiet();
    const settleSeconds = (performance.now() - settleStart) / 1000;
    if (!quiet || settleSeconds > 1)
      notes.push(
        `after ${label} at concurrency ${concurrency}, the worker's background work took ${quiet ? `${settleSeconds.toFixed(1)} s` : 'over 15 s'} to settle`,
      );
    return m;
  };
  for (const concurrency of concurrencies) {
    ctx.progress(`${target.name}: ${ctx.settings.ops.join(' and ')} at concurrency ${concurrency}`);
    if (ctx.settings.ops.includes('set')) {
      const setAgentstate = await run(
        'agentstate set',
        (w, n) => api.set(AGENT, `set-w${w}`, benchValue(w, n)),
        concurrency,
      );
      const setDirect = await run(
        'direct save',
        (w, n) => dapr.save(directKey('set', w), benchValue(w, n)),
        concurrency,
      );
      const setProxy = await run(
        'bare proxy set',
        (w, n) => proxy.set(`set-w${w}`, benchValue(w, n)),
        concurrency,
        proxy.processes,
      );
      rows.push({
        op: 'set',
        concurrency,
        agentstate: setAgentstate,
        direct: setDirect,
        ratio: ratio(setAgentstate.opsPerSec, setDirect.opsPerSec),
        bareProxy: setProxy,
        bareProxyRatio: ratio(setProxy.opsPerSec, setDirect.opsPerSec),
      });
    }
    if (ctx.settings.ops.includes('get')) {
      const getAgentstate = await run('agentstate get', (w) => api.get(AGENT, `get-w${w}`), concurrency);
      const getDirect = await run('direct get', (w) => dapr.get(directKey('get', w)), concurrency);
      const getProxy = await run(
        'bare proxy get',
        (w) => proxy.get(`get-w${w}`),
        concurrency,
        proxy.processes,
      );
      rows.push({
        op: 'get',
        concurrency,
        agentstate: getAgentstate,
        direct: getDirect,
        ratio: ratio(getAgentstate.opsPerSec, getDirect.opsPerSec),
        bareProxy: getProxy,
        bareProxyRatio: ratio(getProxy.opsPerSec, getDirect.opsPerSec),
      });
    }
  }

  const budgets: BudgetCheck[] = rows.map((row) => {
    const floor = row.op === 'get' ? 0.7 : 0.5;
    return {
      budget: `${target.name}: persistent ${row.op} ≥ ${floor}x direct at concurrency ${row.concurrency}`,
      met: Number.isFinite(row.ratio) && row.agentstate.errors === 0 ? row.ratio >= floor : false,
      measured:
        `${fmt.ratio(row.ratio)} (${fmt.ops(row.agentstate.opsPerSec)} vs ${fmt.ops(row.direct.opsPerSec)} ops/s); ` +
        `a bare Node.js proxy ${fmt.ratio(row.bareProxyRatio)}`,
    };
  });
  return {
    sections: [
      {
        title: `Persistent get and set on ${target.name}`,
        description:
          `\`PUT\`/\`GET /v1/agents/{agent}/state/{key}\` against \`POST\`/\`GET /v1.0/state/agentstate-state\` on the same daprd, ` +
          `${measureSeconds} s per cell, closed-loop writers, one key per writer, all keys of one agent; sets are updates of ` +
          `96–208-byte values whose size changes every write. Latencies in ms. "Bare proxy" is a node:http server ` +
          `with nothing but the sidecar calls of agentstate's acknowledged path (a get; for a set, a get of the head ` +
          `and one transaction of a history record and the head under its ETag), with no authentication, ` +
          `validation, logging or metrics, and one sidecar request per call: what a worker written in Node.js costs with ` +
          `nothing of its own on this machine, where ` +
          `the load generator, the worker, daprd and the store share the cores. Its ratio is against the same direct runs; ` +
          `agentstate, which sends the concurrent calls of one event-loop turn as one sidecar request, can pass it.`,
        table: {
          columns: [
            'op',
            'concurrency',
            'agentstate ops/s',
            'p50',
            'p99',
            'direct ops/s',
            'p50',
            'p99',
            'ratio',
            'bare proxy ops/s',
            'bare proxy ratio',
          ],
          rows: rows.map((r) => [
            r.op,
            String(r.concurrency),
            fmt.ops(r.agentstate.opsPerSec),
            fmt.ms(r.agentstate.p50Ms),
            fmt.ms(r.agentstate.p99Ms),
            fmt.ops(r.direct.opsPerSec),
            fmt.ms(r.direct.p50Ms),
            fmt.ms(r.direct.p99Ms),
            fmt.ratio(r.ratio),
            fmt.ops(r.bareProxy.opsPerSec),
            fmt.ratio(r.bareProxyRatio),
          ]),
        },
        notes: [
          ...rows.flatMap((r) => [
            ...errorNotes(`agentstate ${r.op}`, r.agentstate),
            ...errorNotes(`direct ${r.op}`, r.direct),
            ...errorNotes(`bare proxy ${r.op}`, r.bareProxy),
          ]),
          ...notes,
        ],
      },
      {
        title: `CPU time per operation, persistent get and set on ${target.name}`,
        description: `${CPU_DESCRIPTION} The same cells as above; on the direct and bare proxy sides the worker is idle.`,
        table: cpuTable(
          ['op', 'concurrency', 'side'],
          rows.flatMap((r) => [
            { cells: [r.op, String(r.concurrency), 'agentstate'], measurement: r.agentstate },
            { cells: [r.op, String(r.concurrency), 'direct'], measurement: r.direct },
            { cells: [r.op, String(r.concurrency), 'bare proxy'], measurement: r.bareProxy },
          ]),
        ),
        notes: [],
      },
    ],
    budgets,
    headlines: (['get', 'set'] as const)
      .map((op) => rows.filter((r) => r.op === op))
      .filter((opRows) => opRows.length > 0)
      .map((opRows) => ({
        measure: `persistent ${opRows[0]!.op} vs direct Dapr, concurrency ${opRows.map((r) => r.concurrency).join(' / ')} (a bare Node.js proxy)`,
        target: target.name,
        result: opRows.map((r) => `${fmt.ratio(r.ratio)} (${fmt.ratio(r.bareProxyRatio)})`).join(' / '),
      })),
    data: rows,
  };
}
