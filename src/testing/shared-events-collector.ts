import { setTimeout as delay } from 'node:timers/promises';
import type { Json } from '../core/json.ts';
import { NOTIFICATIONS_TOPIC, SHARED_CHANGES_TOPIC } from '../core/state/shared-events.ts';
import type { PublishedSharedEvents } from '../core/state/shared-invariants.ts';
import type { EventBus } from '../ports/event-bus.ts';

export interface SharedEventsCollector {
  /**
   * Everything received so far on both topics, once no event has arrived for
   * `quietMs`: what was published before the call has arrived by then on the in-process
   * bus, and on a real broker once the test waited for what it expects (`waitFor`).
   */
  published(): Promise<PublishedSharedEvents>;
  /** Resolves once `done` holds for what was received, or `timeoutMs` passed; answers which. */
  waitFor(done: (events: PublishedSharedEvents) => boolean, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Subscribes to the shared-state change and notification topics in broadcast mode, so
 * a test sees every event whatever else subscribes, and keeps what arrives (every
 * delivery, duplicates included) for `assertSharedInvariants`.
 */
export async function collectSharedEvents(
  bus: EventBus,
  { quietMs = 20 } = {},
): Promise<SharedEventsCollector> {
  const changes: Json[] = [];
  const notifications: Json[] = [];
  let lastArrival = Date.now();
  const keep = (into: Json[]) => async (event: Json) => {
    into.push(event);
    lastArrival = Date.now();
  };
  const subscriptions = [
    await bus.subscribe(SHARED_CHANGES_TOPIC, keep(changes), { mode: 'broadcast' }),
    await bus.subscribe(NOTIFICATIONS_TOPIC, keep(notifications), { mode: 'broadcast' }),
  ];
  const snapshot = (): PublishedSharedEvents => ({
    changes: [...changes],
    notifications: [...notifications],
  });

  return {
    async published() {
      // A first wait lets deliveries already scheduled run before quiet is judged.
      await delay(1);
      while (Date.now() - lastArrival < quietMs) await delay(quietMs);
      return snapshot();
    },

    async waitFor(done, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!done(snapshot())) {
        if (Date.now() >= deadline) return false;
        await delay(Math.min(50, quietMs));
      }
      return true;
    },

    async close() {
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
    },
  };
}
