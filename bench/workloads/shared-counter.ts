import { agentstateApi, daprStateApi, mintToken, type DaprStateApi } from '../lib/clients.ts';
import { ratio } from '../lib/measure.ts';
import { fmt, type BenchContext, type WorkloadResult } from '../lib/results.ts';
import type { Target } from '../lib/targets.ts';

const WRITERS = 32;
/** A writer that cannot land one increment in this many tries gives up, so the run ends. */
const MAX_TRIES = 2_000;

interface CounterRun {
  /** Whether every writer made all its increments before the time cap. */
  readonly complete: boolean;
  readonly successes: number;
  readonly conflicts: number;
  readonly errors: number;
  readonly finalValue: number;
  readonly lostUpdates: number;
  readonly elapsedMs: number;
  readonly goodput: number;
  readonly errorSamples: string[];
}

/** One read-increment-write attempt: `ok`, `conflict`, or what went wrong. */
type Attempt = () => Promise<string>;

/**
 * 32 writers (32 agents of one tenant) increment one shared counter: read it, write
 * value + 1 with `If-Match: <version read>`, and on `409 VersionConflict` read again.
 * The baseline does the same on daprd with the key's ETag and `first-write`.
 * Lost updates = acknowledged increments the final value does not count.
 */
export async function sharedCounter(ctx: BenchContext, target: Target): Promise<WorkloadResult> {
  const increments = ctx.settings.quick ? 10 : 50;
  // A slow engine under contention can take minutes for every increment; the cap keeps
  // the run bounded, and lost updates are judged on what was acknowledged before it.
  const capMs = (ctx.settings.quick ? 10 : 20) * 1000;
  const key = `counter-${Date.now().toString(36)}`;
  ctx.progress(`${target.name}: ${WRITERS} writers on one shared counter, ${increments} increments each`);
  const apis = await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) =>
      agentstateApi(ctx.http, target.worker.url, await mintToken('bench-counter', `writer-${w}`)),
    ),
  );
  const viaAgentstate = await runCounter(
    increments,
    capMs,
    (w) => async () => {
      const api = apis[w]!;
      const read = JSON.parse((await api.sharedGet(key)).text) as { value: number | null; version: number };
      const answer = await api.sharedPut(key, (read.value ?? 0) + 1, read.version);
      if (answer.status === 200) return 'ok';
      if (answer.status === 409) return 'conflict';
      return `${answer.status} ${answer.text.slice(0, 160)}`;
    },
    async () => {
      const read = JSON.parse((await apis[0]!.sharedGet(key)).text) as { value: number | null };
      return read.value ?? 0;
    },
  );

  let direct: CounterRun | undefined;
  if (target.daprEndpoint !== undefined) {
    const dapr = daprStateApi(ctx.http, target.daprEndpoint);
    const directKey = `bench-direct/${key}`;
    await dapr.save(directKey, 0);
    direct = await runCounter(
      increments,
      capMs,
      () => directAttempt(dapr, directKey),
      async () => Number((await dapr.get(directKey)).text),
    );
  }

  const runs: [string, CounterRun][] = [['agentstate', viaAgentstate]];
  if (direct !== undefined) runs.push(['direct (ETag)', direct]);
  return {
    sections: [
      {
        title: `Shared counter, ${WRITERS} writers, ${target.name}`,
        description: `Each of ${WRITERS} agents makes ${increments} read-increment-write updates of one key with \`If-Match\`, retrying on 409, for at most ${capMs / 1000} s. Goodput is acknowledged increments per second; lost updates are acknowledged increments the final value does not count.`,
        table: {
          columns: [
            '',
            'increments',
            'goodput/s',
            'conflicts per success',
            'lost updates',
            'final value',
            'errors',
            'elapsed s',
          ],
          rows: runs.map(([label, run]) => [
            label,
            String(run.successes),
            fmt.ops(run.goodput),
            (run.conflicts / Math.max(1, run.successes)).toFixed(2),
            String(run.lostUpdates),
            String(run.finalValue),
            String(run.errors),
            (run.elapsedMs / 1000).toFixed(1),
          ]),
        },
        notes: runs.flatMap(([label, run]) => run.errorSamples.map((s) => `${label} error: ${s}`)),
      },
    ],
    budgets: [
      {
        budget: `${target.name}: shared counter, ${WRITERS} writers: zero lost updates`,
        met: viaAgentstate.lostUpdates === 0,
        measured: `${viaAgentstate.lostUpdates} lost of ${viaAgentstate.successes}${viaAgentstate.complete ? '' : ` (of ${WRITERS * increments} tried before the ${capMs / 1000} s cap)`}; goodput ${fmt.ops(viaAgentstate.goodput)}/s${direct === undefined ? '' : ` (direct ${fmt.ops(direct.goodput)}/s)`}`,
      },
    ],
    headlines: [
      {
        measure: `shared counter, ${WRITERS} writers: goodput${direct === undefined ? '' : ' vs direct Dapr (ETag)'}, lost updates`,
        target: target.name,
        result: `${fmt.ops(viaAgentstate.goodput)}/s${direct === undefined ? '' : ` vs ${fmt.ops(direct.goodput)}/s (${fmt.ratio(ratio(viaAgentstate.goodput, direct.goodput))})`}, ${viaAgentstate.lostUpdates} lost`,
      },
    ],
    data: { writers: WRITERS, increments, agentstate: viaAgentstate, direct },
  };
}

function directAttempt(dapr: DaprStateApi, key: string): Attempt {
  return async () => {
    const read = await dapr.get(key);
    if (read.etag === undefined) return 'the direct read answered no ETag';
    const answer = await dapr.trySaveIfMatch(key, Number(read.text) + 1, read.etag);
    if (answer.status === 204 || answer.status === 200) return 'ok';
    if (answer.status === 409) return 'conflict';
    return `${answer.status} ${answer.text.slice(0, 160)}`;
  };
}

async function runCounter(
  increments: number,
  capMs: number,
  attemptOf: (writer: number) => Attempt,
  finalValue: () => Promise<number>,
): Promise<CounterRun> {
  let successes = 0;
  let conflicts = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const started = performance.now();
  const deadline = started + capMs;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const attempt = attemptOf(w);
      for (let i = 0; i < increments; i++) {
        for (let tries = 0; tries < MAX_TRIES && performance.now() < deadline; tries++) {
          const outcome = await attempt().catch((error: unknown) => String(error));
          if (outcome === 'ok') {
            successes++;
            break;
          }
          if (outcome === 'conflict') conflicts++;
          else {
            errors++;
            if (errorSamples.length < 3) errorSamples.push(outcome);
          }
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const final = await finalValue();
  return {
    complete: successes === WRITERS * increments,
    successes,
    conflicts,
    errors,
    finalValue: final,
    lostUpdates: Math.max(0, successes - final),
    elapsedMs,
    goodput: (successes / elapsedMs) * 1000,
    errorSamples,
  };
}
