import { resolveStore, type Config } from '../config.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { KvStore } from '../ports/kv-store.ts';
import type { SecretSource } from '../ports/secret-source.ts';

/** One adapter per port, from one family. */
export interface Adapters {
  readonly family: 'embedded' | 'dapr';
  readonly kv: KvStore;
  readonly blobs: BlobStore;
  readonly bus: EventBus;
  readonly secrets: SecretSource;
}

/**
 * The composition root of storage: picks the family from the configuration, waits for
 * the sidecar when it is Dapr, and initialises every adapter.
 */
export async function openAdapters(config: Config): Promise<Adapters> {
  const family = resolveStore(config);
  const ports = family === 'dapr' ? await openDapr(config) : await openEmbedded(config);
  const adapters: Adapters = { family, ...ports };
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    for (const port of [adapters.kv, adapters.blobs, adapters.bus, adapters.secrets]) {
      await port.init();
      opened.push(port);
    }
  } catch (error) {
    await Promise.allSettled(opened.map((port) => port.close()));
    throw error;
  }
  return adapters;
}

export async function closeAdapters(adapters: Adapters): Promise<void> {
  // The bus first: its handlers may still write to the store.
  await adapters.bus.close();
  await Promise.allSettled([adapters.kv.close(), adapters.blobs.close(), adapters.secrets.close()]);
}

// Each family is loaded only when chosen: the embedded default never loads the Dapr SDK
// and gRPC, and a worker beside a sidecar never opens SQLite.
async function openEmbedded(config: Config) {
  const { createEmbeddedAdapters } = await import('../adapters/embedded/index.ts');
  return createEmbeddedAdapters({ dataDir: config.dataDir });
}

async function openDapr(config: Config) {
  const { createDaprAdapters, waitForSidecar } = await import('../adapters/dapr/index.ts');
  const { dapr } = config;
  if (dapr.httpPort === undefined)
    throw new Error("the dapr store needs DAPR_HTTP_PORT (the sidecar's HTTP port)");
  const httpEndpoint = `http://${dapr.host}:${dapr.httpPort}`;
  await waitForSidecar(httpEndpoint, dapr.sidecarWaitMs);
  return createDaprAdapters({
    httpEndpoint,
    grpcEndpoint: `${dapr.host}:${dapr.grpcPort}`,
    ...(dapr.apiToken === undefined ? {} : { apiToken: dapr.apiToken }),
    stateStore: dapr.stateStore,
    pubsub: dapr.pubsub,
    broadcastPubsub: dapr.broadcastPubsub,
    blobBinding: dapr.blobBinding,
    secretStore: dapr.secretStore,
  });
}
