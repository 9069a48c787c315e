import type { BaseCheckpointSaver, Checkpoint } from '@langchain/langgraph-checkpoint';
import { emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type { RunnableConfig } from '@langchain/core/runnables';
import { AgentStateSaver } from '../../src/langgraph/index.ts';
import type { PostgresServer } from '../../src/testing/harness/index.ts';
import { mintToken } from '../lib/clients.ts';
import { measure, ratio, type Measurement } from '../lib/measure.ts';
import { errorNotes, fmt, type BenchContext, type BudgetCheck, type WorkloadResult } from '../lib/results.ts';
import type { Target } from '../lib/targets.ts';

const SIZES = [1024, 100 * 1024] as const;
const CONCURRENCIES = [1, 16] as const;

interface Row {
  readonly op: 'put' | 'getTuple';
  readonly bytes: number;
  readonly concurrency: number;
  readonly agentstate: Measurement;
  readonly postgres: Measurement;
  readonly ratio: number;
}

/**
 * LangGraph.js checkpointers side by side: AgentStateSaver through the worker on daprd
 * + PostgreSQL against `@langchain/langgraph-checkpoint-postgres` on the same
 * PostgreSQL server, put and getTuple of checkpoints whose one changed channel holds
 * 1 KB or 100 KB, each writer on its own thread (a put continues the writer's last
 * checkpoint, as a graph run does).
 */
export async function langgraphCheckpoints(
  ctx: BenchContext,
  target: Target,
  pg: PostgresServer,
): Promise<WorkloadResult> {
  const agentstate = new AgentStateSaver({
    url: target.worker.url,
    token: await mintToken('bench-langgraph', 'saver'),
  });
  const postgres = PostgresSaver.fromConnString(
    `postgresql://postgres@127.0.0.1:${pg.port}/${pg.database}?sslmode=disable`,
  );
  await postgres.setup();
  try {
    const rows: Row[] = [];
    for (const bytes of SIZES)
      for (const concurrency of CONCURRENCIES) {
        ctx.progress(`langgraph checkpoints: ${fmt.bytes(bytes)} at concurrency ${concurrency}`);
        const run = `${bytes}-${concurrency}-${Date.now().toString(36)}`;
        const ours = await putAndGet(ctx, agentstate, `as-${run}`, bytes, concurrency);
        const theirs = await putAndGet(ctx, postgres, `pg-${run}`, bytes, concurrency);
        for (const op of ['put', 'getTuple'] as const)
          rows.push({
            op,
            bytes,
            concurrency,
            agentstate: ours[op],
            postgres: theirs[op],
            ratio: ratio(ours[op].opsPerSec, theirs[op].opsPerSec),
          });
      }
    const budgets: BudgetCheck[] = rows.map((row) => ({
      budget: `LangGraph checkpointer ${row.op} ${fmt.bytes(row.bytes)} at concurrency ${row.concurrency} ≥ 1.0x checkpoint-postgres`,
      met: row.ratio >= 1,
      measured: fmt.ratio(row.ratio),
    }));
    return {
      sections: [
        {
          title: `LangGraph checkpointer: AgentStateSaver on daprd + PostgreSQL vs checkpoint-postgres`,
          description:
            'put and getTuple per second of AgentStateSaver (through the worker, daprd and its PostgreSQL state store) and of `@langchain/langgraph-checkpoint-postgres` on the same PostgreSQL server; each writer continues its own thread, one channel of the given size changing per checkpoint.',
          table: {
            columns: ['op', 'channel', 'concurrency', 'AgentStateSaver', 'checkpoint-postgres', 'ratio'],
            rows: rows.map((row) => [
              row.op,
              fmt.bytes(row.bytes),
              String(row.concurrency),
              `${fmt.ops(row.agentstate.opsPerSec)}/s (p50 ${fmt.ms(row.agentstate.p50Ms)} ms)`,
              `${fmt.ops(row.postgres.opsPerSec)}/s (p50 ${fmt.ms(row.postgres.p50Ms)} ms)`,
              fmt.ratio(row.ratio),
            ]),
          },
          notes: [
            'A put through agentstate is 3 store calls, 2 of them daprd round trips in sequence and 1 PostgreSQL commit (see the README, "How checkpoints are stored"), behind the HTTP hop to the worker; checkpoint-postgres sends its statements over one pooled connection.',
            ...rows.flatMap((row) =>
              errorNotes(
                `${row.op} ${fmt.bytes(row.bytes)} c${row.concurrency}`,
                row.agentstate,
                row.postgres,
              ),
            ),
          ],
        },
      ],
      budgets,
      headlines: (['put', 'getTuple'] as const).map((op) => ({
        measure: `LangGraph checkpointer ${op} vs checkpoint-postgres, 1 KB c1 / c16, 100 KB c1 / c16`,
        target: target.name,
        result: rows
          .filter((row) => row.op === op)
          .map((row) => fmt.ratio(row.ratio))
          .join(' / '),
      })),
      data: rows,
    };
  } finally {
    await postgres.end();
  }
}

/** Puts for the measurement's time on one thread per writer, then reads their latest checkpoints as long. */
async function putAndGet(
  ctx: BenchContext,
  saver: BaseCheckpointSaver,
  run: string,
  bytes: number,
  concurrency: number,
): Promise<{ put: Measurement; getTuple: Measurement }> {
  const durationMs = ctx.settings.measureSeconds * 1000;
  const payload = 'x'.repeat(bytes);
  const last: RunnableConfig[] = Array.from({ length: concurrency }, (_, w) => ({
    configurable: { thread_id: `${run}-w${w}`, checkpoint_ns: '' },
  }));
  const put = await measure(
    async (w, n) => {
      const checkpoint: Checkpoint = {
        ...emptyCheckpoint(),
        id: uuid6(w),
        channel_values: { data: `${n}:${payload}` },
        channel_versions: { data: n + 1 },
      };
      last[w] = await saver.put(
        last[w] as RunnableConfig,
        checkpoint,
        { source: 'loop', step: n, parents: {} },
        {
          data: n + 1,
        },
      );
    },
    { concurrency, durationMs, warmupOpsPerWriter: 2 },
  );
  const getTuple = await measure(
    async (w) => {
      const tuple = await saver.getTuple({
        configurable: { thread_id: last[w]?.configurable?.['thread_id'] as string, checkpoint_ns: '' },
      });
      if (tuple === undefined) throw new Error('no checkpoint');
    },
    { concurrency, durationMs, warmupOpsPerWriter: 2 },
  );
  return { put, getTuple };
}
