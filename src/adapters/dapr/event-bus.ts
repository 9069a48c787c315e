import { AppError } from '../../core/errors.ts';
import type { Json } from '../../core/json.ts';
import type { EventBus, EventHandler, Subscription } from '../../ports/event-bus.ts';
import { findComponent, type SidecarClient } from './sidecar-client.ts';
import { openTopicStream, type DaprGrpcClient, type TopicStream } from './topic-stream.ts';
import { translatePubSubError } from './translate-error.ts';

export interface DaprEventBusOptions {
  /** Its `grpcEndpoint` is required: subscriptions are gRPC streams. */
  readonly sidecar: SidecarClient;
  /** Component for `competing` subscriptions: consumer group = the app id (daprd's default `consumerID`). */
  readonly pubsubName: string;
  /**
   * Component for `broadcast` subscriptions, configured with `consumerID: "{uuid}"` so each
   * sidecar (each replica) has its own consumer group. A new group of Redis streams starts
   * at the beginning of the retained stream (XGROUP CREATE ... 0), so it may replay old
   * events; the component bounds that with `maxLenApprox`, and handlers are idempotent.
   */
  readonly broadcastPubsubName: string;
  /** How long `subscribe` waits for daprd to acknowledge. @default 30000 */
  readonly subscribeTimeoutMs?: number;
  /** Told when an established subscription's stream broke and is being reopened, e.g. to log it. */
  readonly onReconnect?: (
    error: unknown,
    subscription: { readonly pubsub: string; readonly topic: string },
  ) => void;
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const BROADCAST_LINGER_MS = 10_000;

/**
 * An `EventBus` on Dapr pub/sub. Publishing goes through the sidecar's HTTP API
 * (`POST /v1.0/publish/{pubsub}/{topic}`, JSON, wrapped by daprd in a CloudEvent), which
 * throws on failure where the SDK's HTTP `publish` answers `{ error }`. Subscribing uses
 * Dapr streaming subscriptions (`SubscribeTopicEventsAlpha1`) through the SDK's gRPC
 * client, so the app serves no `/dapr/subscribe` route and needs no app port.
 *
 * Subscriptions on one sidecar to the same topic share a consumer group and so compete,
 * in either mode. For `broadcast` that would split events between subscriptions of one
 * replica, so this bus opens one stream per broadcast topic and runs every broadcast
 * handler of the topic for each event (all again when one fails). Two buses on one
 * sidecar are one replica: their broadcast subscriptions compete.
 *
 * What the deployment must configure (verified against daprd 1.18.2, see
 * dapr-adapters.int.test.ts and test/conformance/dapr-bus.int.test.ts):
 * - a Resiliency policy with an inbound retry for both components. A handler that throws
 *   is answered RETRY, but Redis streams ACK the event whatever the answer
 *   (components-contrib#4208), so only daprd's retry redelivers it; without the policy
 *   a failed event is lost. Bound `maxRetries`: daprd retries with a background context,
 *   so an unbounded retry of an event whose stream is gone never ends.
 * - `readTimeout` (e.g. "2s") and a short `processingTimeout` / `redeliverInterval` on the
 *   Redis components. A closed subscription's XREADGROUP stays blocked in daprd (for ever
 *   by default) and takes the next event of its topic, which then waits for the
 *   component to reclaim it (processingTimeout 15s, checked every redeliverInterval
 *   60s by default): the first event after a worker restart, or after a topic was
 *   unsubscribed and subscribed again. Broadcast streams linger after their last
 *   subscription closes so that quick re-subscriptions in one process avoid this.
 */
export function createDaprEventBus(options: DaprEventBusOptions): EventBus {
  const { sidecar, pubsubName, broadcastPubsubName, subscribeTimeoutMs = 30_000 } = options;
  let client: DaprGrpcClient | undefined;
  let componentType: string | undefined;
  let closed = false;
  const streams = new Set<TopicStream>();
  const broadcasts = new Map<string, BroadcastTopic>();

  function grpc(): DaprGrpcClient {
    if (closed) throw new AppError('Unavailable', 'the event bus is closed');
    if (client === undefined)
      throw new AppError('SubscriptionFailed', 'the event bus is not initialised: call init() first');
    return client;
  }

  async function open(
    pubsub: string,
    topic: string,
    dispatch: (event: Json) => Promise<void>,
  ): Promise<TopicStream> {
    const stream = await openTopicStream({
      client: grpc(),
      pubsub,
      topic,
      dispatch,
      establishTimeoutMs: subscribeTimeoutMs,
      onReconnect: (error) => options.onReconnect?.(error, { pubsub, topic }),
    });
    streams.add(stream);
    return stream;
  }

  async function stop(stream: TopicStream): Promise<void> {
    streams.delete(stream);
    await stream.close();
  }

  async function subscribeCompeting(topic: string, handler: EventHandler): Promise<Subscription> {
    const stream = await open(pubsubName, topic, handler);
    return { close: () => stop(stream) };
  }

  async function subscribeBroadcast(topic: string, handler: EventHandler): Promise<Subscription> {
    let entry = broadcasts.get(topic);
    if (entry === undefined) {
      const handlers = new Set<Registration>();
      const created: BroadcastTopic = {
        handlers,
        // With no handler left (the stream lingers), nobody here wants the event: SUCCESS.
        stream: open(broadcastPubsubName, topic, async (event) => {
          const results = await Promise.allSettled(
            [...handlers].map((registration) => registration.run(event)),
          );
          const failure = results.find((result) => result.status === 'rejected');
          if (failure !== undefined) throw failure.reason;
        }),
        linger: undefined,
      };
      broadcasts.set(topic, created);
      void created.stream.catch(() => broadcasts.get(topic) === created && broadcasts.delete(topic));
      entry = created;
    }
    clearTimeout(entry.linger);
    entry.linger = undefined;
    const registration = register(handler);
    // Registered before the stream is acknowledged, so no event after that is missed.
    entry.handlers.add(registration);
    const current = entry;
    try {
      await current.stream;
    } catch (error) {
      current.handlers.delete(registration);
      throw error;
    }
    let done = false;
    return {
      async close() {
        if (done) return;
        done = true;
        current.handlers.delete(registration);
        await registration.idle();
        if (current.handlers.size > 0 || broadcasts.get(topic) !== current) return;
        // The stream stays open a while, in case the topic is subscribed again: daprd's
        // Redis streams component leaves a closed subscription's XREADGROUP blocked, and
        // that read takes the next event, which is then redelivered only after the
        // component's processingTimeout (components-contrib pubsub/redis/redis.go
        // pollNewMessagesLoop; the read blocks until `readTimeout`, forever by default).
        current.linger = setTimeout(() => {
          if (current.handlers.size > 0 || broadcasts.get(topic) !== current) return;
          broadcasts.delete(topic);
          void current.stream.then(stop);
        }, BROADCAST_LINGER_MS);
        current.linger.unref();
      },
    };
  }

  return {
    get name() {
      return componentType === undefined ? 'dapr-pubsub' : `dapr-${componentType.replace(/^pubsub\./, '')}`;
    },

    async init() {
      const endpoint = parseGrpcEndpoint(sidecar.grpcEndpoint);
      for (const name of [pubsubName, broadcastPubsubName]) {
        let component;
        try {
          component = await findComponent(sidecar, name);
        } catch (error) {
          translatePubSubError(error, { operation: 'publish', pubsub: name, topic: '(init)' });
        }
        if (component === undefined || !component.type.startsWith('pubsub.')) {
          throw new AppError(
            'Unavailable',
            `the Dapr sidecar has no pub/sub component named ${JSON.stringify(name)}`,
          );
        }
        componentType = component.type;
      }
      // Loaded here, not at import: the SDK's entry point takes over a second to load.
      const { GRPCClient, LogLevel } = await import('@dapr/dapr');
      const sdk = new GRPCClient({
        daprHost: endpoint.host,
        daprPort: endpoint.port,
        ...(sidecar.apiToken === undefined ? {} : { daprApiToken: sidecar.apiToken }),
        logger: { level: LogLevel.Error },
      });
      // `false`: do not poll the sidecar's health first; the first stream connects.
      client = await sdk.getClient(false);
      closed = false;
    },

    async close() {
      closed = true;
      for (const entry of broadcasts.values()) clearTimeout(entry.linger);
      broadcasts.clear();
      await Promise.allSettled([...streams].map((stream) => stop(stream)));
    },

    async publish(topic, event) {
      assertValidTopic(topic);
      if (closed) throw new AppError('Unavailable', 'the event bus is closed');
      try {
        await sidecar.request({
          method: 'POST',
          path: `/publish/${encodeURIComponent(pubsubName)}/${encodeURIComponent(topic)}`,
          json: event,
        });
      } catch (error) {
        translatePubSubError(error, { operation: 'publish', pubsub: pubsubName, topic });
      }
    },

    async subscribe(topic, handler, subscribeOptions = {}) {
      assertValidTopic(topic);
      grpc();
      const mode = subscribeOptions.mode ?? 'competing';
      return mode === 'broadcast' ? subscribeBroadcast(topic, handler) : subscribeCompeting(topic, handler);
    },
  };
}

interface BroadcastTopic {
  readonly handlers: Set<Registration>;
  readonly stream: Promise<TopicStream>;
  linger: NodeJS.Timeout | undefined;
}

/** One subscription's handler, with the calls of it still running. */
interface Registration {
  run(event: Json): Promise<void>;
  idle(): Promise<void>;
}

function register(handler: EventHandler): Registration {
  const running = new Set<Promise<void>>();
  return {
    run(event) {
      const call = Promise.resolve(event).then(handler);
      running.add(call);
      void call.then(
        () => running.delete(call),
        () => running.delete(call),
      );
      return call;
    },
    async idle() {
      await Promise.allSettled([...running]);
    },
  };
}

function assertValidTopic(topic: string): void {
  if (topic === '' || CONTROL_CHARACTERS.test(topic) || !topic.isWellFormed()) {
    throw new AppError(
      'InvalidInput',
      `topic ${JSON.stringify(topic.slice(0, 80))} must be a non-empty string without control characters`,
    );
  }
}

/**
 * `127.0.0.1:50001` or `http://127.0.0.1:50001` (the `DAPR_GRPC_ENDPOINT` form) into the
 * host and port the SDK's GRPCClient takes. A sidecar is plaintext h2c on loopback; TLS
 * endpoints are refused rather than silently downgraded.
 */
export function parseGrpcEndpoint(endpoint: string | undefined): { host: string; port: string } {
  if (endpoint === undefined)
    throw new AppError('SubscriptionFailed', "the event bus needs the sidecar's gRPC endpoint");
  const url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
  if (url.protocol !== 'http:' && url.protocol !== 'grpc:') {
    throw new AppError(
      'SubscriptionFailed',
      `gRPC endpoint ${endpoint} is not plaintext (http://host:port); TLS to the sidecar is not supported`,
    );
  }
  return { host: url.hostname, port: url.port === '' ? '50001' : url.port };
}
