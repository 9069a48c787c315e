import { hostHeaderValidation } from '@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Router, type RequestHandler } from 'express';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import type { Logger } from '../../logging.ts';
import { callContext } from '../call-context.ts';
import { createCapabilityToolServer } from '../mcp/capability-tools.ts';

export interface McpRoutesOptions {
  readonly invoke: CapabilityInvoker;
  /** Host names (no port) a request may name in `Host`; anything else is refused (DNS rebinding). */
  readonly allowedHosts: readonly string[];
  readonly logger: Logger;
}

/**
 * The capabilities as MCP tools over Streamable HTTP at `/mcp` (README, MCP). Stateless,
 * as the worker is: each POST builds a server for the request's caller, answers with
 * JSON, and is gone, so any replica serves any request and nothing outlives it. The
 * caller is authenticated like every other route (bearer token or Dapr identity);
 * `x-agent-id` and `x-session-id` name the agent and session as on the RPC. The SDK's
 * Host-header validation runs on every method.
 */
export function mcpRoutes(options: McpRoutesOptions): Router {
  const { invoke, logger } = options;
  const checkHost = hostHeaderValidation([...options.allowedHosts]);
  const router = Router();
  router.post('/mcp', checkHost, async (req, res) => {
    const server = createCapabilityToolServer(invoke, callContext(req), logger);
    // No `sessionIdGenerator`: stateless mode.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  router.get('/mcp', checkHost, postOnly);
  router.delete('/mcp', checkHost, postOnly);
  return router;
}

// Without sessions there is no stream for a GET to resume and nothing for DELETE to end.
const postOnly: RequestHandler = (_req, res) => {
  res
    .status(405)
    .set('allow', 'POST')
    .json({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this MCP server is stateless, use POST' },
      id: null,
    });
};
