import type { Json } from '../../core/json.ts';
import type { EventHandler } from '../../ports/event-bus.ts';

export interface MemoryBrokerOptions {
  /** Deliveries of one event to one subscriber or group before it is dropped. @default 5 */
  readonly maxAttempts?: number;
  /** Wait before the first redelivery, doubled before each further one. @default 100 */
  readonly retryDelayMs?: number;
  /** Reports events dropped after their last attempt. @default a warning on stderr */
  readonly log?: (message: string, fields: Readonly<Record<string, unknown>>) => void;
}

export interface BrokerSubscriber {
  readonly topic: string;
  readonly group: string;
  readonly mode: 'competing' | 'broadcast';
  readonly handler: EventHandler;
}

/**
 * The in-process stand-in for a pub/sub component. Several `EventBus` instances on one
 * broker behave like replicas of apps on one Dapr pub/sub: competing subscribers of a
 * group share each event, broadcast subscribers each get every event.
 */
export interface MemoryBroker {
  /** Queues `event` for every subscriber of `topic`; handlers run later, never inside the call. */
  publish(topic: string, event: Json): void;
  subscribe(subscriber: BrokerSubscriber): { close(): Promise<void> };
}

interface Topic {
  readonly subscribers: Set<ActiveSubscriber>;
  /** Per group, how many competing deliveries it has handed out: whose turn is next. */
  readonly turns: Map<string, number>;
}

interface ActiveSubscriber extends BrokerSubscriber {
  active: boolean;
  readonly inFlight: Set<Promise<void>>;
}

/** Where an event goes: picked again on every attempt, so a redelivery can reach another replica. */
interface Delivery {
  readonly topic: string;
  /** Deep-copied when published and again for every attempt, so no handler sees another's changes. */
  readonly event: Json;
  readonly pick: () => ActiveSubscriber | undefined;
}

/**
 * Creates a broker. Delivery is at least once: a handler that throws gets the event
 * again after `retryDelayMs`, doubling, up to `maxAttempts` deliveries; a competing
 * event is redelivered to the group's next subscriber in turn. Then the event is logged
 * and dropped (the port leaves dead letters out).
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  const {
    maxAttempts = 5,
    retryDelayMs = 100,
    log = (message, fields) => console.warn(message, fields),
  } = options;
  const topics = new Map<string, Topic>();

  function nextInGroup(topic: string, group: string): ActiveSubscriber | undefined {
    const record = topics.get(topic);
    if (record === undefined) return undefined;
    const members = [...record.subscribers].filter((s) => s.mode === 'competing' && s.group === group);
    if (members.length === 0) return undefined;
    const turn = record.turns.get(group) ?? 0;
    record.turns.set(group, turn + 1);
    return members[turn % members.length];
  }

  function schedule(delivery: Delivery, attempt: number, delayMs: number): void {
    setTimeout(() => deliver(delivery, attempt), delayMs);
  }

  function deliver(delivery: Delivery, attempt: number): void {
    const subscriber = delivery.pick();
    if (subscriber === undefined) {
      // Everyone unsubscribed since; for a first attempt that is no different from
      // publishing to nobody, but a failed event is worth a line.
      if (attempt > 1)
        log('event dropped: no subscriber left to redeliver it to', { topic: delivery.topic, attempt });
      return;
    }
    const run = (async () => subscriber.handler(structuredClone(delivery.event)))().then(
      () => undefined,
      (error: unknown) => {
        if (attempt < maxAttempts) {
          schedule(delivery, attempt + 1, retryDelayMs * 2 ** (attempt - 1));
        } else {
          log('event dropped after its last delivery attempt failed', {
            topic: delivery.topic,
            attempts: attempt,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      },
    );
    subscriber.inFlight.add(run);
    void run.finally(() => subscriber.inFlight.delete(run));
  }

  return {
    publish(topic, event) {
      const subscribers = [...(topics.get(topic)?.subscribers ?? [])];
      const snapshot = structuredClone(event);
      for (const subscriber of subscribers.filter((s) => s.mode === 'broadcast')) {
        schedule({ topic, event: snapshot, pick: () => (subscriber.active ? subscriber : undefined) }, 1, 0);
      }
      const groups = new Set(subscribers.filter((s) => s.mode === 'competing').map((s) => s.group));
      for (const group of groups) {
        schedule({ topic, event: snapshot, pick: () => nextInGroup(topic, group) }, 1, 0);
      }
    },

    subscribe(subscriber) {
      const active: ActiveSubscriber = { ...subscriber, active: true, inFlight: new Set() };
      const record = topics.get(subscriber.topic) ?? { subscribers: new Set(), turns: new Map() };
      topics.set(subscriber.topic, record);
      record.subscribers.add(active);
      return {
        async close() {
          active.active = false;
          record.subscribers.delete(active);
          // Forget a topic nobody listens to, so per-request topics do not accumulate.
          if (record.subscribers.size === 0 && topics.get(subscriber.topic) === record)
            topics.delete(subscriber.topic);
          await Promise.all(active.inFlight);
        },
      };
    },
  };
}
