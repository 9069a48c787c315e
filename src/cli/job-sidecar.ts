import { waitForSidecar } from '../adapters/dapr/index.ts';
import type { CliIo } from './cli-io.ts';
import type { ConnectionFlags } from './connection.ts';

/** How long a command waits for its own sidecar to come up. */
const SIDECAR_WAIT_MS = 60_000;

/**
 * Runs `run` the way a Kubernetes Job with a Dapr sidecar needs: with `--dapr-app-id`,
 * it waits for the sidecar before the first call and asks it to shut down afterwards
 * (`POST /v1.0/shutdown`), whatever the outcome, since a Job completes only when every
 * container has exited. Without `--dapr-app-id` it only runs `run`.
 */
export async function asSidecarJob<T>(flags: ConnectionFlags, io: CliIo, run: () => Promise<T>): Promise<T> {
  const port = io.env['DAPR_HTTP_PORT'];
  if (flags.daprAppId === undefined || flags.daprAppId === '' || port === undefined || port === '')
    return run();
  const endpoint = `http://${io.env['DAPR_HOST'] || '127.0.0.1'}:${port}`;
  try {
    await waitForSidecar(endpoint, SIDECAR_WAIT_MS);
    return await run();
  } finally {
    await shutDown(endpoint, io);
  }
}

async function shutDown(endpoint: string, io: CliIo): Promise<void> {
  const token = io.env['DAPR_API_TOKEN'];
  try {
    const response = await fetch(`${endpoint}/v1.0/shutdown`, {
      method: 'POST',
      headers: token === undefined || token === '' ? {} : { 'dapr-api-token': token },
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer();
    if (!response.ok) io.err(`agentstate: the Dapr sidecar refused to shut down (HTTP ${response.status})\n`);
  } catch (error) {
    // The command's own outcome decides the exit code; a sidecar already gone is fine.
    io.err(
      `agentstate: could not shut the Dapr sidecar down: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
}
