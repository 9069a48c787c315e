import { agentstateApi, mintToken } from '../lib/clients.ts';
import { totalCalls } from '../lib/counting-kv-store.ts';
import { measure, ratio, type Measurement } from '../lib/measure.ts';
import { errorNotes, fmt, type BenchContext, type BudgetCheck, type WorkloadResult } from '../lib/results.ts';
import { seedKey } from '../lib/seed-keys.ts';
import type { Target } from '../lib/targets.ts';

const TENANT = 'bench';
const AGENT = 'namespace-agent';
/** Keys per seed request, so one request stays well inside the HTTP client's timeout. */
const SEED_CHUNK = 2_000;
const PAGE_LIMIT = 1000; // the API's largest page (MAX_PAGE_LIMIT)
const WARMUP = 3;

interface SizePoint {
  readonly keys: number;
  readonly seedSeconds: number;
  readonly create: Measurement;
  readonly update: Measurement;
  readonly list: Measurement;
  readonly callsPerCreate: number;
  readonly createCallsBeforeAnswer: number;
  readonly callsPerUpdate: number;
  readonly updateCallsBeforeAnswer: number;
  readonly callsPerPage: number;
  readonly bytesPerPage: number;
  readonly entriesPerPage: number;
}

/**
 * How one agent's namespace size changes a write and a list page. The namespace is
 * seeded by the engine's bulk load in the worker process to each size in turn; at each
 * size: creates of new keys and updates of seeded keys at concurrency 1, then the first
 * list page (limit 1000) repeatedly, with the KvStore calls and bytes each one cost,
 * counted by the worker's counting store (background work that settles within seconds
 * included).
 */
export async function namespaceSize(
  ctx: BenchContext,
  target: Target,
  sizes: readonly number[],
): Promise<WorkloadResult> {
  const api = agentstateApi(ctx.http, target.worker.url, await mintToken(TENANT, AGENT));
  const worker = target.worker;
  const probes = ctx.settings.quick ? 60 : 200;
  const pages = ctx.settings.quick ? 8 : 20;
  const points: SizePoint[] = [];
  const notes: string[] = [];
  let seeded = 0;
  let probed = 0;

  for (const [round, size] of sizes.entries()) {
    ctx.progress(`${target.name}: seeding ${fmt.int(size)} keys`);
    const seedStart = performance.now();
    for (let from = seeded; from < size; from += SEED_CHUNK) {
      const to = Math.min(size, from + SEED_CHUNK);
      await worker.seed({ tenant: TENANT, agent: AGENT, from, to });
      seeded = to;
    }
    const seedSeconds = (performance.now() - seedStart) / 1000;

    ctx.progress(`${target.name}: writes and list pages at ${fmt.int(seeded + probed)} keys`);
    // Unmeasured warm-up: the worker's caches and connections, as in a running service.
    for (let n = 0; n < WARMUP; n++) {
      await api.set(AGENT, `warm-${round}-${n}`, { n });
      await api.set(AGENT, seedKey(n), { n, warm: true });
      await api.list(AGENT, { limit: PAGE_LIMIT });
    }
    probed += WARMUP;
    await worker.countersOn();
    await worker.settle(500, 30_000);
    const counted = async (run: () => Promise<Measurement>) => {
      await worker.countersOn();
      const m = await run();
      await worker.settle(300, 10_000);
      return { m, counters: await worker.countersOff() };
    };
    const create = await counted(() =>
      measure(async (_, n) => void (await api.set(AGENT, `probe-${round}-${seedKey(n)}`, { n })), {
        concurrency: 1,
        opsPerWriter: probes,
      }),
    );
    probed += create.m.ops;
    const update = await counted(() =>
      measure(
        async (_, n) => void (await api.set(AGENT, seedKey((n * 7919) % seeded), { n, updated: true })),
        { concurrency: 1, opsPerWriter: probes },
      ),
    );
    let entriesPerPage = 0;
    const list = await counted(() =>
      measure(
        async () => {
          const page = JSON.parse((await api.list(AGENT, { limit: PAGE_LIMIT })).text) as {
            entries: unknown[];
          };
          entriesPerPage = page.entries.length;
        },
        { concurrency: 1, opsPerWriter: pages },
      ),
    );
    points.push({
      keys: seeded + probed,
      seedSeconds,
      create: create.m,
      update: update.m,
      list: list.m,
      callsPerCreate: totalCalls(create.counters) / probes,
      createCallsBeforeAnswer: create.counters.callsBeforeAnswer / probes,
      callsPerUpdate: totalCalls(update.counters) / probes,
      updateCallsBeforeAnswer: update.counters.callsBeforeAnswer / probes,
      callsPerPage: totalCalls(list.counters) / pages,
      bytesPerPage: list.counters.bytesRead / pages,
      entriesPerPage,
    });
    notes.push(
      ...errorNotes(`create at ${fmt.int(seeded)} keys`, create.m),
      ...errorNotes(`update at ${fmt.int(seeded)} keys`, update.m),
      ...errorNotes(`list at ${fmt.int(seeded)} keys`, list.m),
    );
  }

  const first = points[0];
  const last = points.at(-1);
  const budgets: BudgetCheck[] = [];
  if (first !== undefined && last !== undefined && last !== first) {
    const atBudgetSize = first.keys <= 1_500 && last.keys >= 100_000;
    const sizesText = `${fmt.int(last.keys)}/${fmt.int(first.keys)} keys`;
    const judged = (value: number, limit: number) => (atBudgetSize ? value <= limit : undefined);
    const createRatio = ratio(last.create.p50Ms, first.create.p50Ms);
    const updateRatio = ratio(last.update.p50Ms, first.update.p50Ms);
    const listRatio = ratio(last.list.p50Ms, first.list.p50Ms);
    const bytesRatio = ratio(last.bytesPerPage, first.bytesPerPage);
    budgets.push(
      {
        budget: `${target.name}: write latency 100k vs 1k keys ≤ 1.3 (p50; creates and updates)`,
        met: atBudgetSize ? createRatio <= 1.3 && updateRatio <= 1.3 : undefined,
        measured: `create ${fmt.ratio(createRatio)}, update ${fmt.ratio(updateRatio)} at ${sizesText}`,
      },
      {
        budget: `${target.name}: list page (limit ${PAGE_LIMIT}) 100k vs 1k keys ≤ 1.3 (p50)`,
        met: judged(listRatio, 1.3),
        measured: `${fmt.ratio(listRatio)} at ${sizesText} (${fmt.ms(last.list.p50Ms)} vs ${fmt.ms(first.list.p50Ms)} ms)`,
      },
      {
        budget: `${target.name}: bytes read per list page independent of namespace size (ratio ≤ 1.3)`,
        met: judged(bytesRatio, 1.3),
        measured: `${fmt.ratio(bytesRatio)} at ${sizesText} (${fmt.bytes(last.bytesPerPage)} vs ${fmt.bytes(first.bytesPerPage)})`,
      },
    );
  }

  return {
    sections: [
      {
        title: `Namespace size: writes and a list page, ${target.name}`,
        description:
          `One agent's namespace seeded to each size by the engine's bulk load (the restore path) in the worker. Writes through the REST API at concurrency 1 (${probes} creates of new keys, ${probes} updates of seeded keys); ` +
          `the first list page with limit=${PAGE_LIMIT}, ${pages} times. KvStore calls and bytes are counted by a wrapping KvStore in the worker ` +
          `as "before the answer / in all" (all includes the background work that settled right after). Latencies in ms.`,
        table: {
          columns: [
            'keys',
            'create p50',
            'p99',
            'update p50',
            'p99',
            'KvStore calls/create',
            'calls/update',
            'list page p50',
            'p99',
            'entries',
            'bytes read/page',
            'calls/page',
          ],
          rows: points.map((p) => [
            fmt.int(p.keys),
            fmt.ms(p.create.p50Ms),
            fmt.ms(p.create.p99Ms),
            fmt.ms(p.update.p50Ms),
            fmt.ms(p.update.p99Ms),
            `${p.createCallsBeforeAnswer.toFixed(1)} / ${p.callsPerCreate.toFixed(1)}`,
            `${p.updateCallsBeforeAnswer.toFixed(1)} / ${p.callsPerUpdate.toFixed(1)}`,
            fmt.ms(p.list.p50Ms),
            fmt.ms(p.list.p99Ms),
            String(p.entriesPerPage),
            fmt.bytes(p.bytesPerPage),
            p.callsPerPage.toFixed(1),
          ]),
        },
        notes: [
          ...notes,
          ...points.map(
            (p) => `bulk-loading up to ${fmt.int(p.keys)} keys took ${p.seedSeconds.toFixed(1)} s`,
          ),
        ],
      },
    ],
    budgets,
    headlines:
      first !== undefined && last !== undefined && last !== first
        ? [
            {
              measure: `list page (limit ${PAGE_LIMIT}) at ${fmt.int(last.keys)} vs ${fmt.int(first.keys)} keys: p50 latency, bytes read`,
              target: target.name,
              result: `${fmt.ratio(ratio(last.list.p50Ms, first.list.p50Ms))}, ${fmt.ratio(ratio(last.bytesPerPage, first.bytesPerPage))} (${fmt.bytes(last.bytesPerPage)} per page)`,
            },
          ]
        : [],
    data: points,
  };
}
