import { AppError } from '../../core/errors.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import type { SecretSource } from '../../ports/secret-source.ts';
import { createDaprBlobStore } from './blob-store.ts';
import { createDaprEventBus } from './event-bus.ts';
import { createDaprKvStore } from './kv-store.ts';
import { createDaprSecretSource } from './secret-source.ts';
import { createSidecarClient } from './sidecar-client.ts';

export { createDaprBlobStore, type DaprBlobStoreOptions } from './blob-store.ts';
export { createDaprEventBus, type DaprEventBusOptions } from './event-bus.ts';
export { createDaprKvStore, type DaprKvStoreOptions } from './kv-store.ts';
export { createDaprSecretSource, type DaprSecretSourceOptions } from './secret-source.ts';
export { createSidecarClient, type SidecarClient, type SidecarClientOptions } from './sidecar-client.ts';

export interface DaprAdaptersConfig {
  /** The sidecar's HTTP API, e.g. `http://127.0.0.1:3500`. */
  readonly httpEndpoint: string;
  /** The sidecar's gRPC API, `127.0.0.1:50001` or `http://127.0.0.1:50001`. */
  readonly grpcEndpoint: string;
  /** daprd's `DAPR_API_TOKEN`, sent as `dapr-api-token` on every call. */
  readonly apiToken?: string;
  /** Component names. */
  readonly stateStore: string;
  readonly pubsub: string;
  readonly broadcastPubsub: string;
  readonly blobBinding: string;
  readonly secretStore: string;
  /** Told when a subscription stream broke and is being reopened, e.g. to log it. */
  readonly onReconnect?: (
    error: unknown,
    subscription: { readonly pubsub: string; readonly topic: string },
  ) => void;
}

export interface DaprAdapters {
  readonly kv: KvStore;
  readonly blobs: BlobStore;
  readonly bus: EventBus;
  readonly secrets: SecretSource;
}

/**
 * The four ports on one Dapr sidecar. Nothing connects here; the caller runs each
 * adapter's `init()`, after `waitForSidecar`.
 */
export function createDaprAdapters(config: DaprAdaptersConfig): DaprAdapters {
  const sidecar = createSidecarClient({
    httpEndpoint: config.httpEndpoint,
    grpcEndpoint: config.grpcEndpoint,
    apiToken: config.apiToken,
  });
  return {
    kv: createDaprKvStore({ sidecar, storeName: config.stateStore }),
    blobs: createDaprBlobStore({ sidecar, bindingName: config.blobBinding }),
    bus: createDaprEventBus({
      sidecar,
      pubsubName: config.pubsub,
      broadcastPubsubName: config.broadcastPubsub,
      ...(config.onReconnect === undefined ? {} : { onReconnect: config.onReconnect }),
    }),
    secrets: createDaprSecretSource({ sidecar, storeName: config.secretStore }),
  };
}

/**
 * Resolves once the sidecar's outbound side is ready (`GET /v1.0/healthz/outbound`
 * answers 204: components loaded; it does not wait for the app, unlike `/healthz`, so a
 * worker can call it before it listens). Throws `Unavailable` after `timeoutMs`.
 * daprd exempts this route from API token checks (pkg/api/http/middlewares.go).
 */
export async function waitForSidecar(httpEndpoint: string, timeoutMs: number): Promise<void> {
  const url = `${httpEndpoint.replace(/\/+$/, '')}/v1.0/healthz/outbound`;
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let last = 'no answer yet';
  for (;;) {
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(Math.max(1, Math.min(2_000, deadline - Date.now()))),
      });
      await response.arrayBuffer();
      if (response.status === 204) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() + delay > deadline) {
      throw new AppError(
        'Unavailable',
        `the Dapr sidecar at ${httpEndpoint} was not ready within ${timeoutMs} ms (${last})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1_000);
  }
}
