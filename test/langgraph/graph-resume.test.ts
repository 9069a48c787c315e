import { Annotation, Command, END, interrupt, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateSaver } from '../../src/langgraph/index.ts';
import { tokenMinter } from '../../src/testing/api/api-client.ts';
import { TEST_TOKEN_KEY } from '../../src/testing/api/test-worker.ts';
import { freePort } from '../../src/testing/harness/free-port.ts';
import {
  makeTempDir,
  spawnProcess,
  waitForHttp,
  type ManagedProcess,
} from '../../src/testing/harness/process.ts';

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
  const dataDir = makeTempDir('graph-resume');
  let port: number;
  let worker: ManagedProcess | undefined;

  async function startWorker(): Promise<void> {
    worker = await spawnProcess({
      name: 'agentstate',
      command: process.execPath,
      args: ['src/main.ts', 'serve'],
      env: {
        ...process.env,
        PORT: String(port),
        AGENTSTATE_STORE: 'embedded',
        AGENTSTATE_DATA_DIR: await dataDir,
        AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY: TEST_TOKEN_KEY,
        LOG_LEVEL: 'warn',
      },
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, { process: worker, timeoutMs: 20_000 });
  }

  beforeAll(async () => {
    port = await freePort();
    await startWorker();
  }, 30_000);
  afterAll(async () => worker?.stop());

  it('resumes the interrupted thread on a new worker to the final state an uninterrupted run reaches', async () => {
    const token = await tokenMinter(TEST_TOKEN_KEY)('acme', 'planner', ['agent']);
    const saver = () => new AgentStateSaver({ url: `http://127.0.0.1:${port}`, token });
    const killed: ManagedProcess[] = [];
    const onAgentState = await runToTheEnd(saver(), saver(), async () => {
      // SIGKILL: nothing is drained or flushed; only what the worker acknowledged survives.
      killed.push(worker as ManagedProcess);
      await worker?.stop(0);
      await startWorker();
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
