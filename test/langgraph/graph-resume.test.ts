import { Annotation, Command, END, interrupt, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateSaver } from '../../src/langgraph/index.ts';
import { tokenMinter } from '../../src/testing/api/api-client.ts';
import { TEST_TOKEN_KEY } from '../../src/testing/api/test-worker.ts';
import { spawnWorkerProcess, type WorkerProcess } from '../../src/testing/harness/worker-process.ts';

// Issue 10: a real LangGraph.js graph with an interrupt, on AgentStateSaver against a
// worker process that is killed between two steps; another worker resumes the thread.

const State = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  total: Annotation<number>({ reducer: (_, b) => b, default: () => 0 }),
  approval: Annotation<string>({ reducer: (_, b) => b, default: () => '' }),
});

function buildGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(State)
    .addNode('plan', (state) => ({ log: ['planned'], total: state.total + 10 }))
    .addNode('approve', () => ({
      approval: interrupt<string, string>('approve the plan?'),
      log: ['approved'],
    }))
    .addNode('act', (state) => ({ log: [`acted:${state.approval}`], total: state.total * 2 }))
    .addEdge(START, 'plan')
    .addEdge('plan', 'approve')
    .addEdge('approve', 'act')
    .addEdge('act', END)
    .compile({ checkpointer });
}

async function runToTheEnd(
  first: BaseCheckpointSaver,
  second: BaseCheckpointSaver,
  between: () => Promise<void>,
) {
  const config = { configurable: { thread_id: 'conversation-1' } };
  const answer: Record<string, unknown> = await buildGraph(first).invoke({ total: 1 }, config);
  // The interrupt's id derives from the run's checkpoint ids, which differ per run.
  const paused = Object.fromEntries(Object.entries(answer).filter(([name]) => name !== '__interrupt__'));
  await between();
  const graph = buildGraph(second);
  const waiting = await graph.getState(config);
  const resumed = await graph.invoke(new Command({ resume: 'yes' }), config);
  return {
    paused,
    asked: waiting.tasks.flatMap((task) => task.interrupts.map((asked): unknown => asked.value)),
    next: waiting.next,
    resumed,
    history: (await collect(graph.getStateHistory(config))).length,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('a LangGraph.js graph on AgentStateSaver across a worker crash', () => {
  let worker: WorkerProcess;

  beforeAll(async () => {
    worker = await spawnWorkerProcess({
      env: { AGENTSTATE_STORE: 'embedded', AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY: TEST_TOKEN_KEY },
    });
  }, 30_000);
  afterAll(async () => worker.stop());

  it('resumes the interrupted thread on a new worker to the final state an uninterrupted run reaches', async () => {
    const token = await tokenMinter(TEST_TOKEN_KEY)('acme', 'planner', ['agent']);
    const saver = () => new AgentStateSaver({ url: worker.url, token });
    const killed: WorkerProcess[] = [];
    const onAgentState = await runToTheEnd(saver(), saver(), async () => {
      // SIGKILL: nothing is drained or flushed; only what the worker acknowledged survives.
      killed.push(worker);
      await worker.kill();
      worker = await worker.respawn();
    });
    const inMemory = new MemorySaver();
    const reference = await runToTheEnd(inMemory, inMemory, async () => undefined);

    expect(killed[0]?.exitStatus()?.signal).toBe('SIGKILL');
    expect(onAgentState.paused).toEqual({ log: ['planned'], total: 11, approval: '' });
    expect(onAgentState.asked).toEqual(['approve the plan?']);
    expect(onAgentState.next).toEqual(['approve']);
    expect(onAgentState.resumed).toEqual({
      log: ['planned', 'approved', 'acted:yes'],
      total: 22,
      approval: 'yes',
    });
    expect(onAgentState).toEqual(reference);
  });
});
