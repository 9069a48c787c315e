// `/mcp` in /openapi.json. Its bodies are JSON-RPC messages of the Model Context
// Protocol, described by the MCP specification, not here; the tools it lists are the
// capabilities of `/v1/capabilities/{name}`, with the same input schemas.

const jsonRpc = {
  'application/json': {
    schema: {
      type: 'object',
      required: ['jsonrpc'],
      properties: { jsonrpc: { const: '2.0' } },
      description: 'A JSON-RPC 2.0 message (or batch) of the Model Context Protocol.',
    },
  },
};

const error = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

const postOnly = {
  summary: 'Not offered: the MCP server is stateless (no session stream)',
  responses: { '405': { description: 'Use POST' } },
};

export const mcpPath: Record<string, unknown> = {
  post: {
    summary: 'MCP over Streamable HTTP (stateless, JSON answers): every capability as a tool',
    description:
      'tools/list names each capability as in the catalogue with its input schema; tools/call runs it ' +
      'for the caller, as the capability RPC does (x-agent-id and x-session-id as there), and answers ' +
      'an error as a tool error whose text is the error body. A Host header naming a host not in ' +
      'AGENTSTATE_MCP_ALLOWED_HOSTS is refused (403).',
    requestBody: { required: true, content: jsonRpc },
    responses: {
      '200': { description: 'The JSON-RPC answer', content: jsonRpc },
      '202': { description: 'A notification or response, accepted' },
      '401': { description: 'No valid credentials', content: error },
      '403': { description: 'Forbidden, or a Host header not allowed (DNS rebinding protection)' },
    },
  },
  get: postOnly,
  delete: postOnly,
};
