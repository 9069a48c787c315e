import type { Json } from '../core/json.ts';

/**
 * Publish/subscribe for change notifications.
 *
 * Semantics every adapter keeps (checked by `eventBusConformance`):
 * - Delivery is at least once: a handler may see an event twice and must be
 *   idempotent. A handler that throws has the event redelivered later.
 * - `competing` subscriptions of the same group (replicas of one app) share the events
 *   of a topic: each event reaches one of them. `broadcast` subscriptions each receive
 *   every event published after they were established, so every replica can serve its
 *   live streams.
 * - Order is not guaranteed across publishers.
 * - Publishing to an unreachable broker is `Unavailable`; a subscription that cannot be
 *   established is `SubscriptionFailed`.
 *
 * Left out on purpose: replay of history, dead-letter handling, ordering keys.
 */
export interface EventBus {
  readonly name: string;

  init(): Promise<void>;
  /** Ends every subscription, waiting for handlers in flight. */
  close(): Promise<void>;

  publish(topic: string, event: Json): Promise<void>;
  /** Resolves once the subscription is established and will receive new events. */
  subscribe(topic: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>;
}

export type EventHandler = (event: Json) => Promise<void>;

export interface SubscribeOptions {
  /** @default 'competing' */
  readonly mode?: 'competing' | 'broadcast';
}

export interface Subscription {
  close(): Promise<void>;
}
