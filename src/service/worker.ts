import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { createApp } from '../http/app.ts';
import type { Logger } from '../logging.ts';
import { closeAdapters, openAdapters, type Adapters } from './adapters.ts';
import { checkReadiness } from './readiness.ts';

export const TOKEN_KEY_SECRET = 'agentstate-token-key';

export interface Worker {
  readonly url: string;
  readonly adapters: Adapters;
  /** Stops accepting, lets requests in flight finish (up to the grace period), closes adapters. */
  close(): Promise<void>;
}

/** Opens the adapters (waiting for the sidecar in Dapr mode), then listens. */
export async function startWorker(config: Config, logger: Logger): Promise<Worker> {
  const adapters = await openAdapters(config);
  const app = createApp({ logger, readiness: () => checkReadiness(adapters, TOKEN_KEY_SECRET) });
  const server: Server = app.listen(config.port, config.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    await closeAdapters(adapters);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info(
    {
      url,
      store: adapters.family,
      adapters: [adapters.kv.traits.name, adapters.blobs.name, adapters.bus.name, adapters.secrets.name],
    },
    'agentstate listening',
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    adapters,
    close: () => (closing ??= shutdown(server, adapters, config.shutdownGraceMs, logger)),
  };
}

async function shutdown(server: Server, adapters: Adapters, graceMs: number, logger: Logger): Promise<void> {
  logger.info({ grace_ms: graceMs }, 'draining');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
  await closeAdapters(adapters);
  logger.info('stopped');
}
