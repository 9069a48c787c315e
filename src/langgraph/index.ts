// The package export `agentstate/langgraph`: LangGraph.js integrations on agentstate.
export { AgentStateSaver, type AgentStateSaverOptions } from './agent-state-saver.ts';
export type { AgentStateConnectionOptions } from './service-connection.ts';
export { AgentStateStore, type AgentStateStoreOptions } from './agent-state-store.ts';
