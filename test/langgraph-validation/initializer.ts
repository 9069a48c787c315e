import { randomUUID } from 'node:crypto';
import { AgentStateSaver } from '../../src/langgraph/index.ts';

// The CheckpointerTestInitializer the validation CLI imports (its default export). The
// test that runs the CLI (checkpoint-validation.int.test.ts) starts the worker and
// passes where it is and an operator token; each checkpointer writes as a fresh agent,
// so no instance sees another's threads.
const url = process.env['AGENTSTATE_URL'];
const token = process.env['AGENTSTATE_TOKEN'];
if (url === undefined || token === undefined)
  throw new Error('AGENTSTATE_URL and AGENTSTATE_TOKEN must be set');

export default {
  checkpointerName: `AgentStateSaver (${process.env['AGENTSTATE_VALIDATION_BACKEND'] ?? 'unnamed backend'})`,
  createCheckpointer: () => new AgentStateSaver({ url, token, agent: `v-${randomUUID().slice(0, 8)}` }),
};
