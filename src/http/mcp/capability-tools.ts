import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallContext } from '../../capabilities/capability.ts';
import { capabilityCatalogue, type CapabilityDescription } from '../../capabilities/catalogue.ts';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import { AppError, isAppError } from '../../core/errors.ts';
import type { Logger } from '../../logging.ts';
import { errorBody } from '../error-handler.ts';

/** What `initialize` tells an MCP client about this server. */
const serverInfo = { name: 'agentstate', version: '1' } as const;

/** Every capability as a tool; computed once, like the catalogue it comes from. */
const tools: readonly Tool[] = capabilityCatalogue.map(describeTool);

/**
 * The MCP server of one call context: every capability of the registry as a tool, named
 * and described by the catalogue, its input schema the catalogue's JSON Schema of the
 * capability's zod input. Calls go through `invoke`, the invoker of the RPC and REST
 * surfaces, so parsing, authorization and permission classes are the same on all three.
 *
 * The low-level `Server` rather than `McpServer.registerTool`: the tools come from a
 * registry with schemas already converted, and the invoker parses the input itself, so
 * a bad input is our `InvalidInput`, not the SDK's own validation error.
 */
export function createCapabilityToolServer(
  invoke: CapabilityInvoker,
  context: CallContext,
  logger: Logger,
): Server {
  const server = new Server(serverInfo, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...tools] }));
  server.setRequestHandler(CallToolRequestSchema, async ({ params }) => {
    try {
      const output = await invoke(params.name, context, params.arguments ?? {});
      return toolResult(output);
    } catch (error) {
      if (isAppError(error)) return toolError(error);
      // A bug, not the caller's fault: logged with its stack, answered without it.
      logger.error({ err: error, tool: params.name }, 'MCP tool call failed');
      return toolError(new AppError('Internal', 'internal error', { cause: error }));
    }
  });
  return server;
}

// A tool's `outputSchema` binds every successful answer to it; an Approval Required
// call may answer with a pending approval instead, so those tools declare none.
function describeTool(capability: CapabilityDescription): Tool {
  return {
    name: capability.name,
    description: capability.description,
    inputSchema: { ...capability.input_schema, type: 'object' },
    ...(capability.permission === 'approval_required'
      ? {}
      : { outputSchema: { ...capability.output_schema, type: 'object' } }),
    annotations: { title: capability.name, readOnlyHint: isReadOnly(capability.name) },
    _meta: { 'agentstate/permission': capability.permission },
  };
}

// Reads name themselves so: get, list, query, history. (`watch` subscribes, a write.)
function isReadOnly(name: string): boolean {
  return /\.(get|list|query|history)$/.test(name);
}

function toolResult(output: unknown): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(output) }],
    ...(isRecord(output) ? { structuredContent: output } : {}),
  };
}

/** The error as a tool error whose text is the error body of every other surface. */
function toolError(error: AppError): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(errorBody(error)) }] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
