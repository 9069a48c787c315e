// The headers that name who a call acts for, in `components.parameters`.
export const agentHeader = { $ref: '#/components/parameters/AgentId' };
export const sessionHeader = { $ref: '#/components/parameters/SessionId' };
export const headerParameters = {
  AgentId: {
    name: 'x-agent-id',
    in: 'header',
    required: false,
    schema: { type: 'string' },
    description:
      'The agent the call acts on, when a supervisor, operator or gateway acts for another agent of its tenant; an agent token may name only itself. Defaults to the caller.',
  },
  SessionId: {
    name: 'x-session-id',
    in: 'header',
    required: false,
    schema: { type: 'string' },
    description: 'The current session, for state.session.* and state.shared.watch.',
  },
};
