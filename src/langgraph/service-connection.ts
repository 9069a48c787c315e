import { resolveConnection } from '../cli/connection.ts';
import { createServiceClient, type ServiceClient } from '../cli/service-client.ts';

/** How a LangGraph integration reaches agentstate. */
export interface AgentStateConnectionOptions {
  /** The service's URL. @default env AGENTSTATE_URL, else http://127.0.0.1:8080 */
  readonly url?: string;
  /** Bearer token. @default env AGENTSTATE_TOKEN */
  readonly token?: string;
  /**
   * Call through the local Dapr sidecar (`DAPR_HTTP_PORT`, `DAPR_API_TOKEN`) by service
   * invocation to this app id instead of `url`, e.g. `agentstate`.
   */
  readonly daprAppId?: string;
  /** Act for this agent (`x-agent-id`), as a gateway or supervisor may. @default the token's principal */
  readonly agent?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The service client of the CLI, with the agent header when one is named. */
export function connectToAgentState(options: AgentStateConnectionOptions): ServiceClient {
  const { url, token, daprAppId, agent, env = process.env } = options;
  const connection = resolveConnection(
    {
      ...(url === undefined ? {} : { url }),
      ...(token === undefined ? {} : { token }),
      ...(daprAppId === undefined ? {} : { daprAppId }),
    },
    env,
  );
  return createServiceClient(
    agent === undefined
      ? connection
      : { ...connection, headers: { ...connection.headers, 'x-agent-id': agent } },
  );
}
