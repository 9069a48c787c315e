import { z } from 'zod';
import {
  SHARED_CHANGES_TOPIC,
  sharedChangeEventSchema,
  type SharedChangeEvent,
} from '../core/state/shared-events.ts';
import type { Watches } from '../core/watch/watches.ts';
import type { Logger } from '../logging.ts';
import type { EventBus } from '../ports/event-bus.ts';

/** Something running on the bus until `close()`. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * Delivers every shared change to the inboxes of its watchers: one `competing`
 * subscription per worker, so each change is handled by one replica. A change that does
 * not parse is logged and dropped (redelivering it would not help); a delivery that fails
 * throws, so the bus delivers the change again, which `Watches.deliver` makes harmless.
 */
export async function startChangeDelivery(
  bus: EventBus,
  watches: Pick<Watches, 'deliver'>,
  logger: Logger,
): Promise<Closable> {
  const subscription = await bus.subscribe(
    SHARED_CHANGES_TOPIC,
    async (raw) => {
      const parsed = sharedChangeEventSchema.safeParse(raw);
      if (!parsed.success) {
        logger.warn(
          { topic: SHARED_CHANGES_TOPIC, problems: z.prettifyError(parsed.error) },
          'dropped a shared change event that does not parse',
        );
        return;
      }
      try {
        await watches.deliver(parsed.data);
      } catch (error) {
        logger.warn(
          { err: error, topic: SHARED_CHANGES_TOPIC, event_id: parsed.data.id, tenant: parsed.data.tenant },
          'delivering a shared change to inboxes failed; the bus will deliver it again',
        );
        throw error;
      }
    },
    { mode: 'competing' },
  );
  return { close: () => subscription.close() };
}

/** The changes this worker sees, for the live streams it holds (`GET /v1/shared/watch`). */
export interface LiveChanges extends Closable {
  /**
   * Calls `onEvent` with every change of `tenant` whose key starts with `prefix` (every
   * key for `''`), until the answered function is called. `onClose` is called once if
   * `close()` ends every stream first (the worker is shutting down), so that a stream
   * can end its response. A listener that throws is removed.
   */
  listen(
    tenant: string,
    prefix: string,
    onEvent: (event: SharedChangeEvent) => void,
    onClose?: () => void,
  ): () => void;
}

interface Listener {
  readonly prefix: string;
  readonly onEvent: (event: SharedChangeEvent) => void;
  readonly onClose: (() => void) | undefined;
  readonly remove: () => void;
}

/** How many recent change ids a worker remembers, so that a redelivered change reaches a stream once. */
const RECENT_IDS = 1000;

/**
 * One `broadcast` subscription per worker, fanned out in process to the listeners of
 * its live streams: every replica sees every change, whichever replica's stream is
 * connected to it. Delivery is best effort, like any live stream: a change published
 * while the subscription was not yet established is not seen, which the durable inbox
 * covers. A change the bus delivers again within the last `RECENT_IDS` is not passed on
 * twice; one that does not parse is dropped (the delivery subscription logs it).
 */
export async function createLiveChanges(bus: EventBus): Promise<LiveChanges> {
  const listeners = new Map<string, Set<Listener>>();
  const recent = new Set<string>();

  const subscription = await bus.subscribe(
    SHARED_CHANGES_TOPIC,
    async (raw) => {
      const parsed = sharedChangeEventSchema.safeParse(raw);
      if (!parsed.success) return;
      const event = parsed.data;
      if (recent.has(event.id)) return;
      recent.add(event.id);
      // A Set iterates in insertion order: the first is the oldest.
      if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value as string);
      for (const listener of listeners.get(event.tenant) ?? []) {
        if (!event.key.startsWith(listener.prefix)) continue;
        try {
          listener.onEvent(event);
        } catch {
          // Its stream is broken; the others must still get the change.
          listener.remove();
        }
      }
    },
    { mode: 'broadcast' },
  );

  return {
    listen(tenant, prefix, onEvent, onClose) {
      const ofTenant = listeners.get(tenant) ?? new Set();
      listeners.set(tenant, ofTenant);
      const listener: Listener = {
        prefix,
        onEvent,
        onClose,
        remove() {
          ofTenant.delete(listener);
          if (ofTenant.size === 0 && listeners.get(tenant) === ofTenant) listeners.delete(tenant);
        },
      };
      ofTenant.add(listener);
      return listener.remove;
    },

    async close() {
      await subscription.close();
      const all = [...listeners.values()].flatMap((set) => [...set]);
      listeners.clear();
      for (const listener of all) listener.onClose?.();
    },
  };
}
