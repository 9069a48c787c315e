import { agentstateApi, benchValue, mintToken, type AgentstateApi } from '../lib/clients.ts';
import { totalCalls, type KvCounters } from '../lib/counting-kv-store.ts';
import { fmt, type BenchContext, type BudgetCheck, type WorkloadResult } from '../lib/results.ts';
import type { Target } from '../lib/targets.ts';

const AGENT = 'calls-agent';

/** One kind of call, and what issue 6 point 1 allows it before its answer. */
interface CallKind {
  readonly name: string;
  /** Store calls the caller may wait for; `undefined` where the issue sets none. */
  readonly limit: number | undefined;
  /** Runs before counting starts, once per repetition. */
  readonly prepare?: (i: number) => Promise<unknown>;
  readonly run: (i: number) => Promise<unknown>;
}

interface CallRow {
  readonly name: string;
  readonly limit: number | undefined;
  readonly repetitions: number;
  readonly beforeAnswer: number;
  /** Calls before the answer per method and per call, e.g. `getBulk 1, transact 1`. */
  readonly byMethod: string;
  readonly afterAnswer: number;
  readonly sidecarBeforeAnswer: number | undefined;
  readonly sidecarAfterAnswer: number | undefined;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly settled: boolean;
}

function kinds(api: AgentstateApi, session: string, run: string): CallKind[] {
  const key = (kind: string, i: number) => `${kind}-${run}-${i}`;
  const shared = (i: number) => `calls-${run}-${i}`;
  return [
    {
      name: 'persistent get',
      limit: 1,
      prepare: (i) => api.set(AGENT, key('get', i), benchValue(i, 0)),
      run: (i) => api.get(AGENT, key('get', i)),
    },
    {
      name: 'persistent update (size changes)',
      limit: 2,
      prepare: (i) => api.set(AGENT, key('update', i), benchValue(i, 0)),
      run: (i) => api.set(AGENT, key('update', i), benchValue(i, 1)),
    },
    { name: 'persistent create', limit: 4, run: (i) => api.set(AGENT, key('create', i), benchValue(i, 0)) },
    {
      name: 'persistent delete',
      limit: 3,
      prepare: (i) => api.set(AGENT, key('delete', i), benchValue(i, 0)),
      run: (i) => api.delete(AGENT, key('delete', i)),
    },
    {
      name: 'persistent list page (limit 100)',
      limit: undefined,
      run: () => api.list(AGENT, { limit: 100 }),
    },
    {
      name: 'shared create',
      limit: 4,
      run: async (i) => expectOk(await api.sharedPut(shared(i), { i }, 0)),
    },
    {
      name: 'shared update',
      limit: 2,
      run: async (i) => expectOk(await api.sharedPut(shared(i), { i, n: 1 }, 1)),
    },
    {
      name: 'session set (update)',
      limit: 2,
      prepare: (i) => api.sessionSet(session, key('session', i), benchValue(i, 0)),
      run: (i) => api.sessionSet(session, key('session', i), benchValue(i, 1)),
    },
    {
      name: 'session get',
      limit: 1,
      prepare: (i) => api.sessionSet(session, key('session-get', i), benchValue(i, 0)),
      run: (i) => api.sessionGet(session, key('session-get', i)),
    },
  ];
}

function expectOk(answer: { status: number; text: string }): void {
  if (answer.status !== 200) throw new Error(`answered ${answer.status}: ${answer.text.slice(0, 160)}`);
}

/**
 * What each kind of call costs the store, one call at a time: KvStore calls the caller
 * waited for (made before the answer) and those after it (background work, counted
 * until the store is quiet), bytes, and on Dapr the HTTP requests to daprd. A direct
 * Dapr get or save is one store call and one request.
 */
export async function storeCalls(ctx: BenchContext, target: Target): Promise<WorkloadResult> {
  const api = agentstateApi(ctx.http, target.worker.url, await mintToken('bench-calls', AGENT));
  const session = await api.openSession(AGENT);
  const repetitions = ctx.settings.quick ? 10 : 30;
  const run = Date.now().toString(36);
  const rows: CallRow[] = [];
  ctx.progress(`${target.name}: store calls of each kind of call, ${repetitions} of each`);
  for (const kind of kinds(api, session, run)) {
    if (kind.prepare !== undefined) for (let i = 0; i < repetitions; i++) await kind.prepare(i);
    await target.worker.countersOn();
    await target.worker.settle(300, 10_000);
    await target.worker.countersOn();
    for (let i = 0; i < repetitions; i++) await kind.run(i);
    const settled = await target.worker.settle(500, 20_000);
    rows.push(toRow(kind, repetitions, await target.worker.countersOff(), settled));
  }
  const over = rows.filter((r) => r.limit !== undefined && r.beforeAnswer > r.limit);
  return {
    sections: [
      {
        title: `Store calls per call, ${target.name}`,
        description:
          `Each kind of call ${repetitions} times, one at a time, through the REST API, with the worker's KvStore wrapped by a counting one. ` +
          `"Before the answer" are the calls the caller waited for; "after" is the background work the calls left, counted until the store was quiet. ` +
          `The limits are issue 6 point 1 (update 2, create 4, get 1, delete 3); a direct Dapr get or save is 1 call and 1 request.` +
          (target.daprEndpoint === undefined
            ? ''
            : ' Sidecar requests are the HTTP requests the worker sent to daprd.'),
        table: {
          columns: [
            'call',
            'KvStore calls before the answer',
            'by method',
            'limit',
            'after the answer',
            ...(target.daprEndpoint === undefined ? [] : ['daprd requests before / after']),
            'bytes read',
            'bytes written',
          ],
          rows: rows.map((r) => [
            r.name,
            r.beforeAnswer.toFixed(1),
            r.byMethod,
            r.limit === undefined ? '' : `${r.limit}${r.beforeAnswer > r.limit ? ' (**over**)' : ''}`,
            r.afterAnswer.toFixed(1) + (r.settled ? '' : ' (still busy)'),
            ...(target.daprEndpoint === undefined
              ? []
              : [`${(r.sidecarBeforeAnswer ?? 0).toFixed(1)} / ${(r.sidecarAfterAnswer ?? 0).toFixed(1)}`]),
            fmt.bytes(r.bytesRead),
            fmt.bytes(r.bytesWritten),
          ]),
        },
        notes: [],
      },
    ],
    budgets: [
      callBudget(
        target.name,
        'persistent',
        over.filter((r) => r.name.startsWith('persistent')),
      ),
      callBudget(
        target.name,
        'shared and session',
        over.filter((r) => !r.name.startsWith('persistent')),
      ),
    ],
    headlines: [
      {
        measure:
          'store calls before the answer: persistent get / update / create / delete (limits 1 / 2 / 4 / 3)',
        target: target.name,
        result: [
          'persistent get',
          'persistent update (size changes)',
          'persistent create',
          'persistent delete',
        ]
          .map((name) => rows.find((r) => r.name === name)?.beforeAnswer)
          .map((n) => (n === undefined ? '–' : String(+n.toFixed(1))))
          .join(' / '),
      },
    ],
    data: rows,
  };
}

/** One budget line for some kinds of call: met when none of them is over its limit. */
function callBudget(targetName: string, kinds: string, over: readonly CallRow[]): BudgetCheck {
  return {
    budget: `${targetName}: ${kinds} store calls before the answer within issue 6 point 1 (update 2, create 4, get 1, delete 3)`,
    met: over.length === 0,
    measured:
      over.length === 0
        ? 'all within'
        : over.map((r) => `${r.name} ${r.beforeAnswer.toFixed(1)} > ${r.limit}`).join('; '),
  };
}

/** Per-call figures of one kind from the counters of its repetitions. */
function toRow(kind: CallKind, repetitions: number, counters: KvCounters, settled: boolean): CallRow {
  const total = totalCalls(counters);
  return {
    name: kind.name,
    limit: kind.limit,
    repetitions,
    beforeAnswer: counters.callsBeforeAnswer / repetitions,
    byMethod: Object.entries(counters.beforeAnswerByMethod)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([method, n]) => `${method} ${+(n / repetitions).toFixed(1)}`)
      .join(', '),
    afterAnswer: (total - counters.callsBeforeAnswer) / repetitions,
    sidecarBeforeAnswer:
      counters.sidecar === undefined ? undefined : counters.sidecar.beforeAnswer / repetitions,
    sidecarAfterAnswer:
      counters.sidecar === undefined
        ? undefined
        : (counters.sidecar.requests - counters.sidecar.beforeAnswer) / repetitions,
    bytesRead: counters.bytesRead / repetitions,
    bytesWritten: counters.bytesWritten / repetitions,
    settled,
  };
}
