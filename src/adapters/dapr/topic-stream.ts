import type { GRPCClient } from '@dapr/dapr';
import { AppError } from '../../core/errors.ts';
import { jsonSchema, type Json } from '../../core/json.ts';
import { translatePubSubError } from './translate-error.ts';

// One Dapr streaming subscription (`SubscribeTopicEventsAlpha1`, dapr/proto/runtime/v1/
// dapr.proto), kept open until closed. daprd's side is pkg/api/grpc/subscribe.go and
// pkg/runtime/pubsub/streamer/streamer.go:
// - the first request names the pubsub and topic; daprd subscribes the component (for
//   Redis streams: creates the consumer group) and only then answers the initial
//   response, so the subscription is established when that response arrives;
// - each event is one `eventMessage`; daprd waits for an `eventProcessed` with its id,
//   and several events can be in flight at once (one per component worker);
// - half-closing the request stream ends the subscription (recvLoop sees EOF).
// Redis streams ACK an event once the handler returns, whatever it answered
// (components-contrib#4208): a RETRY is redelivered only by a Resiliency policy with an
// inbound retry for the pubsub component, which the deployment must configure.

/** The SDK's ConnectRPC client of the Dapr service (protobuf-es messages). */
export type DaprGrpcClient = Awaited<ReturnType<GRPCClient['getClient']>>;
type SubscribeRequests = Parameters<DaprGrpcClient['subscribeTopicEventsAlpha1']>[0];
type SubscribeRequest = SubscribeRequests extends AsyncIterable<infer T> ? T : never;
type SubscribeResponse =
  ReturnType<DaprGrpcClient['subscribeTopicEventsAlpha1']> extends AsyncIterable<infer T> ? T : never;
type TopicEvent = Extract<
  SubscribeResponse['subscribeTopicEventsResponseType'],
  { case: 'eventMessage' }
>['value'];

// TopicEventResponse.TopicEventResponseStatus (dapr/proto/runtime/v1/appcallback.proto).
const SUCCESS = 0;
const RETRY = 1;
const DROP = 2;

export interface TopicStreamOptions {
  readonly client: DaprGrpcClient;
  readonly pubsub: string;
  readonly topic: string;
  /** Runs the subscription's handlers for one event; throwing asks for redelivery. */
  readonly dispatch: (event: Json) => Promise<void>;
  /** How long the first connection waits for daprd's initial response. */
  readonly establishTimeoutMs: number;
  /** Told when an established stream broke and is being reopened. */
  readonly onReconnect?: ((error: unknown) => void) | undefined;
}

export interface TopicStream {
  /** Ends the stream after the handlers in flight have answered. */
  close(): Promise<void>;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 10_000;
const CLOSE_GRACE_MS = 5_000;

/**
 * Opens the stream; resolves once daprd has acknowledged the subscription, rejects with
 * `SubscriptionFailed` if the first attempt fails. Later breaks reconnect with backoff.
 */
export async function openTopicStream(options: TopicStreamOptions): Promise<TopicStream> {
  const inflight = new Set<Promise<void>>();
  let closing = false;
  let current: Connection | undefined;
  let established: () => void = () => undefined;
  let failed: (error: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    established = resolve;
    failed = reject;
  });

  const loop = (async () => {
    let delay = RECONNECT_MIN_MS;
    let first = true;
    while (!closing) {
      const connection = connect(options.client, options.pubsub, options.topic);
      current = connection;
      try {
        await withTimeout(connection.initial, first ? options.establishTimeoutMs : RECONNECT_MAX_MS * 3);
        if (first) established();
        first = false;
        delay = RECONNECT_MIN_MS;
        for await (const event of connection.events) handle(event, connection);
        if (closing) return;
        throw new Error('daprd ended the subscription stream');
      } catch (error) {
        connection.abort();
        if (closing) return;
        if (first) {
          failed(error);
          return;
        }
        options.onReconnect?.(error);
        await sleep(delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      }
    }
  })();

  function handle(event: TopicEvent, connection: Connection): void {
    if (closing) {
      connection.respond(event.id, RETRY);
      return;
    }
    const decoded = decodeEvent(event);
    if (decoded === undefined) {
      connection.respond(event.id, DROP);
      return;
    }
    // Through a promise, so a handler that throws synchronously is a RETRY, not a broken stream.
    const task = Promise.resolve(decoded)
      .then(options.dispatch)
      .then(
        () => connection.respond(event.id, SUCCESS),
        () => connection.respond(event.id, RETRY),
      );
    inflight.add(task);
    void task.finally(() => inflight.delete(task));
  }

  try {
    await ready;
  } catch (error) {
    await loop;
    translatePubSubError(error, { operation: 'subscribe', pubsub: options.pubsub, topic: options.topic });
  }

  return {
    async close() {
      if (closing) return loop;
      closing = true;
      await Promise.allSettled([...inflight]);
      // Half-close: daprd unsubscribes once it has read every answer sent before.
      current?.end();
      const grace = setTimeout(() => current?.abort(), CLOSE_GRACE_MS);
      await loop;
      clearTimeout(grace);
    },
  };
}

interface Connection {
  /** Settles when daprd acknowledged the subscription (or the stream failed first). */
  readonly initial: Promise<void>;
  readonly events: AsyncIterable<TopicEvent>;
  respond(id: string, status: number): void;
  end(): void;
  abort(): void;
}

function connect(client: DaprGrpcClient, pubsubName: string, topic: string): Connection {
  const abort = new AbortController();
  const requests = createQueue<SubscribeRequest>();
  requests.push({
    subscribeTopicEventsRequestType: { case: 'initialRequest', value: { pubsubName, topic } },
  });
  const iterator = client
    .subscribeTopicEventsAlpha1(requests.iterable, { signal: abort.signal })
    [Symbol.asyncIterator]();

  const initial = (async () => {
    const first = await iterator.next();
    if (first.done === true) throw new Error('daprd closed the stream before acknowledging the subscription');
    const kind = first.value.subscribeTopicEventsResponseType.case;
    if (kind !== 'initialResponse')
      throw new Error(`daprd answered ${String(kind)} before acknowledging the subscription`);
  })();
  // Awaited by the caller unless a timeout won the race; then its failure is moot.
  initial.catch(() => undefined);

  return {
    initial,
    events: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) return;
          const message = next.value.subscribeTopicEventsResponseType;
          if (message.case === 'eventMessage') yield message.value;
        }
      },
    },
    respond(id, status) {
      requests.push({
        subscribeTopicEventsRequestType: { case: 'eventProcessed', value: { id, status: { status } } },
      });
    },
    end: () => requests.end(),
    abort: () => {
      requests.end();
      abort.abort();
    },
  };
}

/**
 * The event's JSON, or `undefined` for a payload agentstate did not publish (then DROP:
 * redelivering cannot make it parse). daprd delivers the CloudEvent's `data` as bytes; a
 * published JSON `null` arrives as no bytes at all.
 */
export function decodeEvent(event: Pick<TopicEvent, 'data' | 'dataContentType'>): Json | undefined {
  if (event.dataContentType !== '' && !/json/i.test(event.dataContentType)) return undefined;
  const text = Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength).toString('utf8');
  if (text.trim() === '') return null;
  try {
    const parsed = jsonSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function createQueue<T>(): { push(item: T): void; end(): void; iterable: AsyncIterable<T> } {
  const items: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  return {
    push(item) {
      if (ended) return;
      items.push(item);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (items.length > 0) yield items.shift() as T;
          if (ended) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    },
  };
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AppError('SubscriptionFailed', `daprd did not acknowledge the subscription within ${ms} ms`),
        ),
      ms,
    );
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
