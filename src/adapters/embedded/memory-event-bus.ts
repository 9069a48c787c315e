import { AppError } from '../../core/errors.ts';
import type { EventBus, Subscription } from '../../ports/event-bus.ts';
import { createMemoryBroker, type MemoryBroker } from './memory-broker.ts';
import { settle } from './settle.ts';

export interface MemoryEventBusOptions {
  /**
   * Buses on one broker see each other's events, as replicas on one pub/sub component
   * do; tests pass one broker to two buses to stand for two replicas.
   * @default a broker of its own
   */
  readonly broker?: MemoryBroker;
  /** The app whose replicas share `competing` deliveries, like a Dapr app id. @default 'agentstate' */
  readonly group?: string;
}

/**
 * An in-process `EventBus`: events never leave the process and are lost when it exits,
 * which is what a single embedded worker needs. Handlers run after `publish` resolves,
 * each on its own deep copy of the event; see `createMemoryBroker` for redelivery.
 */
export function createMemoryEventBus(options: MemoryEventBusOptions = {}): EventBus {
  const { broker = createMemoryBroker(), group = 'agentstate' } = options;
  const subscriptions = new Set<Subscription>();
  let closed = false;

  return {
    name: 'embedded-memory',

    async init() {
      // Nothing to connect to.
    },

    async close() {
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
    },

    publish(topic, event) {
      return settle(() => {
        if (closed) throw new AppError('Unavailable', 'the event bus is closed');
        assertValidTopic(topic);
        broker.publish(topic, event);
      });
    },

    subscribe(topic, handler, subscribeOptions = {}) {
      return settle(() => {
        if (closed) throw new AppError('SubscriptionFailed', 'the event bus is closed');
        assertValidTopic(topic);
        const handle = broker.subscribe({
          topic,
          group,
          mode: subscribeOptions.mode ?? 'competing',
          handler,
        });
        const subscription: Subscription = {
          async close() {
            subscriptions.delete(subscription);
            await handle.close();
          },
        };
        subscriptions.add(subscription);
        return subscription;
      });
    },
  };
}

function assertValidTopic(topic: string): void {
  if (topic.length === 0) throw new AppError('InvalidInput', 'topic must not be empty');
}
