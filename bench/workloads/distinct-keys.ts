import { startBareProxy } from '../lib/bare-proxy.ts';
import { agentstateApi, benchValue, daprStateApi, mintToken, type AgentstateApi } from '../lib/clients.ts';
import { CPU_DESCRIPTION, cpuTable } from '../lib/cpu-table.ts';
import { measure, ratio } from '../lib/measure.ts';
import { errorNotes, fmt, type BenchContext, type WorkloadResult } from '../lib/results.ts';
import type { Target } from '../lib/targets.ts';

const WRITERS = 32;
const WIDE_WRITERS = 128;

/**
 * 32 writers on 32 distinct keys of one agent (size-changing updates) against 32 direct
 * saves (no hot record: the ratio should not fall with the writers), then 128 writers on
 * 128 new keys of another agent, each creating its key and updating it, checked against
 * the store: every answered success is there, every answered failure is not, and the
 * list shows exactly the keys written.
 */
export async function distinctKeys(ctx: BenchContext, target: Target): Promise<WorkloadResult> {
  if (target.daprEndpoint === undefined) throw new Error('distinct keys needs a Dapr target');
  const api = agentstateApi(ctx.http, target.worker.url, await mintToken('bench', 'distinct-agent'));
  const dapr = daprStateApi(ctx.http, target.daprEndpoint);
  const durationMs = ctx.settings.measureSeconds * 1000;

  ctx.progress(`${target.name}: ${WRITERS} writers on ${WRITERS} distinct keys`);
  const options = { concurrency: WRITERS, durationMs, warmupOpsPerWriter: 3, cpu: target.processes };
  const viaAgentstate = await measure(
    async (w, n) => void (await api.set('distinct-agent', `dk-w${w}`, benchValue(w, n))),
    options,
  );
  // The direct run starts once agentstate's background work has settled, so it does
  // not pay for it.
  await target.worker.waitQuiet();
  const direct = await measure(
    async (w, n) => void (await dapr.save(`bench-direct/dk-w${w}`, benchValue(w, n))),
    options,
  );
  const r = ratio(viaAgentstate.opsPerSec, direct.opsPerSec);
  const proxy = await startBareProxy(ctx.http, target);
  const viaProxy = await measure(async (w, n) => void (await proxy.set(`dk-w${w}`, benchValue(w, n))), {
    ...options,
    cpu: proxy.processes,
  }).finally(() => proxy.stop());
  const proxyRatio = ratio(viaProxy.opsPerSec, direct.opsPerSec);

  ctx.progress(`${target.name}: ${WIDE_WRITERS} writers, each answer checked against the store`);
  const wide = await wideWriters(
    agentstateApi(ctx.http, target.worker.url, await mintToken('bench', 'wide-agent')),
    ctx.settings.quick ? 3 : 6,
  );

  return {
    sections: [
      {
        title: `${WRITERS} writers on ${WRITERS} keys of one agent, ${target.name}`,
        description:
          `Size-changing updates, one key per writer, ${durationMs / 1000} s each, against direct saves at the same ` +
          `concurrency, and the bare Node.js proxy of the persistent get and set section making the same sidecar calls.`,
        table: {
          columns: ['', 'ops/s', 'p50 ms', 'p99 ms', 'errors'],
          rows: [
            [
              'agentstate',
              fmt.ops(viaAgentstate.opsPerSec),
              fmt.ms(viaAgentstate.p50Ms),
              fmt.ms(viaAgentstate.p99Ms),
              String(viaAgentstate.errors),
            ],
            [
              'direct save',
              fmt.ops(direct.opsPerSec),
              fmt.ms(direct.p50Ms),
              fmt.ms(direct.p99Ms),
              String(direct.errors),
            ],
            [
              'bare proxy',
              fmt.ops(viaProxy.opsPerSec),
              fmt.ms(viaProxy.p50Ms),
              fmt.ms(viaProxy.p99Ms),
              String(viaProxy.errors),
            ],
            ['ratio agentstate / direct', fmt.ratio(r), '', '', ''],
            ['ratio bare proxy / direct', fmt.ratio(proxyRatio), '', '', ''],
          ],
        },
        notes: [
          ...errorNotes('agentstate', viaAgentstate),
          ...errorNotes('direct', direct),
          ...errorNotes('bare proxy', viaProxy),
        ],
      },
      {
        title: `CPU time per operation, ${WRITERS} writers on ${WRITERS} keys of one agent, ${target.name}`,
        description: `${CPU_DESCRIPTION} The same runs as above; on the direct and bare proxy sides the worker is idle.`,
        table: cpuTable(
          [''],
          [
            { cells: ['agentstate'], measurement: viaAgentstate },
            { cells: ['direct save'], measurement: direct },
            { cells: ['bare proxy'], measurement: viaProxy },
          ],
        ),
        notes: [],
      },
      {
        title: `${WIDE_WRITERS} writers on ${WIDE_WRITERS} new keys of one agent, ${target.name}`,
        description:
          'Each writer creates its key and updates it; afterwards each key must hold the last acknowledged write at the version counting the acknowledged writes (an answered failure that committed shows as a higher version or another value), and the list must show exactly the keys created.',
        table: {
          columns: ['writes', 'succeeded', 'failed', 'keys wrong', 'listed', 'elapsed s'],
          rows: [
            [
              String(wide.writes),
              String(wide.succeeded),
              String(wide.failed),
              String(wide.wrongKeys.length),
              `${wide.listed} of ${wide.expectedListed}`,
              (wide.elapsedMs / 1000).toFixed(1),
            ],
          ],
        },
        notes: [
          ...wide.failureSamples.map((s) => `failed write: ${s}`),
          ...wide.wrongKeys.slice(0, 5).map((s) => `wrong key: ${s}`),
        ],
      },
    ],
    budgets: [
      {
        budget: `${target.name}: ${WRITERS} writers on distinct keys of one agent ≥ 0.5x direct`,
        met: viaAgentstate.errors === 0 && Number.isFinite(r) ? r >= 0.5 : false,
        measured:
          `${fmt.ratio(r)} (${fmt.ops(viaAgentstate.opsPerSec)} vs ${fmt.ops(direct.opsPerSec)} ops/s); ` +
          `a bare Node.js proxy ${fmt.ratio(proxyRatio)}`,
      },
      {
        budget: `${target.name}: ${WIDE_WRITERS} writers: every success committed, every failure not`,
        met: wide.wrongKeys.length === 0 && wide.listed === wide.expectedListed,
        measured: `${wide.succeeded} succeeded, ${wide.failed} failed, ${wide.wrongKeys.length} keys disagree, ${wide.listed}/${wide.expectedListed} listed`,
      },
    ],
    headlines: [
      {
        measure: `${WRITERS} writers on distinct keys of one agent vs direct Dapr`,
        target: target.name,
        result: `${fmt.ratio(r)}${viaAgentstate.errors > 0 ? ` (${viaAgentstate.errors} errors)` : ''}`,
      },
      {
        measure: `${WIDE_WRITERS} writers on new keys of one agent: succeeded / failed / disagreeing with the store`,
        target: target.name,
        result: `${wide.succeeded} / ${wide.failed} / ${wide.wrongKeys.length}`,
      },
    ],
    data: {
      writers: WRITERS,
      agentstate: viaAgentstate,
      direct,
      ratio: r,
      bareProxy: viaProxy,
      proxyRatio,
      wide,
    },
  };
}

interface WideResult {
  readonly writes: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly wrongKeys: string[];
  readonly listed: number;
  readonly expectedListed: number;
  readonly failureSamples: string[];
  readonly elapsedMs: number;
}

async function wideWriters(api: AgentstateApi, writesPerKey: number): Promise<WideResult> {
  const agent = 'wide-agent';
  const started = performance.now();
  const failureSamples: string[] = [];
  const acknowledged = await Promise.all(
    Array.from({ length: WIDE_WRITERS }, async (_, w) => {
      const acks: number[] = [];
      let failed = 0;
      for (let n = 1; n <= writesPerKey; n++) {
        const answer = await api.trySet(agent, `wide-${w}`, { w, n }).catch((error: unknown) => ({
          status: 0,
          text: String(error),
        }));
        if (answer.status === 200) acks.push(n);
        else {
          failed++;
          if (failureSamples.length < 3) failureSamples.push(`${answer.status} ${answer.text.slice(0, 160)}`);
        }
      }
      return { w, acks, failed };
    }),
  );
  const elapsedMs = performance.now() - started;
  const wrongKeys: string[] = [];
  for (const { w, acks } of acknowledged) {
    const key = `wide-${w}`;
    const read = await api.get(agent, key).then(
      (a) => JSON.parse(a.text) as { value: { n: number }; version: number },
      () => undefined,
    );
    const last = acks.at(-1);
    if (last === undefined) {
      if (read !== undefined)
        wrongKeys.push(`${key}: no write succeeded, yet it holds version ${read.version}`);
    } else if (read === undefined || read.value.n !== last || read.version !== acks.length) {
      wrongKeys.push(
        `${key}: ${acks.length} writes acknowledged (last n=${last}), the store has ${read === undefined ? 'nothing' : `n=${read.value.n} at version ${read.version}`}`,
      );
    }
  }
  const expected = new Set(acknowledged.filter((a) => a.acks.length > 0).map((a) => `wide-${a.w}`));
  const listed = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = JSON.parse(
      (await api.list(agent, { prefix: 'wide-', limit: 1000, ...(cursor === undefined ? {} : { cursor }) }))
        .text,
    ) as {
      entries: { key: string }[];
      cursor?: string;
    };
    for (const entry of page.entries) listed.add(entry.key);
    cursor = page.cursor;
  } while (cursor !== undefined);
  const extra = [...listed].filter((key) => !expected.has(key));
  for (const key of extra) wrongKeys.push(`${key}: listed but never acknowledged`);
  const writes = WIDE_WRITERS * writesPerKey;
  const succeeded = acknowledged.reduce((sum, a) => sum + a.acks.length, 0);
  return {
    writes,
    succeeded,
    failed: writes - succeeded,
    wrongKeys,
    listed: [...listed].filter((key) => expected.has(key)).length,
    expectedListed: expected.size,
    failureSamples,
    elapsedMs,
  };
}
