import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { parseInput } from '../parse-input.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { SharedChangeEvent } from '../state/shared-events.ts';
import { deliverToInbox, openInbox, type Inbox, type InboxContext } from './inbox.ts';
import { tenantSubscriptions } from './subscriptions.ts';
import { watchKeys } from './watch-keys.ts';
import type { SubscriptionRecord } from './watch-records.ts';
import { sharedWatchInputSchema, type SharedWatchResult } from './watch-schemas.ts';

export type { Inbox } from './inbox.ts';

export interface WatchesLimits {
  /** Live subscriptions one agent may hold; the next is `SubscriptionFailed`. @default 100 */
  readonly subscriptionsPerAgent?: number;
  /**
   * Unread entries one inbox keeps. A delivery to a full inbox drops its oldest unread
   * entry, which `dropped` of every inbox page counts, so nothing is lost silently.
   * @default 10000
   */
  readonly inboxUnread?: number;
}

export interface WatchesOptions {
  /** The clock of timestamps and session expiry. @default () => new Date() */
  readonly now?: () => Date;
  readonly limits?: WatchesLimits;
}

/**
 * `state.shared.watch` and what it feeds: subscriptions of agents to changes of their
 * tenant's shared state, and each agent's durable inbox of the changes they matched.
 *
 * Changes arrive at least once (`SHARED_CHANGES_TOPIC`); `deliver` adds each to the
 * inbox of every live matching subscription once, however often it is called with the
 * same change (see `deliverToInbox` for the one exception). A subscription ends with its
 * session: a delivery that finds the session ended or expired removes the subscription
 * instead. Everything rests on single-key compare-and-swap (see `ports/kv-store.ts`).
 */
export interface Watches {
  /** state.shared.watch: a subscription of `agent` in `tenant`, alive while session `sessionId` is. */
  subscribe(input: {
    tenant: string;
    agent: string;
    sessionId: string;
    prefix?: string | undefined;
  }): Promise<SharedWatchResult>;
  /** Delivers one change to the inbox of every live matching subscription of event.tenant; idempotent per (subscription, event.id). Ends subscriptions whose session is gone. */
  deliver(event: SharedChangeEvent): Promise<void>;
  /** One agent's durable inbox. */
  inbox(tenant: string, agent: string): Inbox;
}

const limitsSchema = z.object({
  subscriptionsPerAgent: z.int().min(1).max(1000),
  inboxUnread: z.int().min(1).max(1_000_000),
});

/**
 * Watches over `kv`. `sessions.get` checks, when subscribing, that the session is live
 * and the agent's (the call counts as activity of the session, as every call in it does).
 */
export function createWatches(
  kv: KvStore,
  sessions: Pick<Sessions, 'get'>,
  options: WatchesOptions = {},
): Watches {
  const now = options.now ?? (() => new Date());
  const limits = parseInput(
    limitsSchema,
    {
      subscriptionsPerAgent: options.limits?.subscriptionsPerAgent ?? 100,
      inboxUnread: options.limits?.inboxUnread ?? 10_000,
    },
    'watch limits',
  );
  const inboxContext: InboxContext = { kv, now, maxUnread: limits.inboxUnread };
  const subscriptionsOf = (tenant: string) => {
    const keys = watchKeys(tenant);
    return {
      keys,
      subscriptions: tenantSubscriptions({ kv, now, tenant, keys, perAgent: limits.subscriptionsPerAgent }),
    };
  };

  return {
    async subscribe({ tenant, agent, sessionId, prefix }) {
      const input = parseInput(sharedWatchInputSchema, prefix === undefined ? {} : { prefix }, 'watch');
      const { keys, subscriptions } = subscriptionsOf(tenant);
      keys.subscriptions(agent); // InvalidInput for a bad agent id, before anything is read.
      const session = await sessions.get(tenant, sessionId);
      if (session.agent !== agent)
        throw new AppError(
          'Forbidden',
          `session ${sessionId} belongs to agent ${JSON.stringify(session.agent)}, not ${JSON.stringify(agent)}`,
        );
      const record: SubscriptionRecord = {
        subscription_id: randomUUID(),
        session_id: sessionId,
        prefix: input.prefix ?? '',
        created_at: now().toISOString(),
        until: session.hard_expires_at,
      };
      await subscriptions.add(agent, record);
      return { subscription_id: record.subscription_id };
    },

    async deliver(event) {
      const { keys, subscriptions } = subscriptionsOf(event.tenant);
      const liveness = new Map<string, Promise<boolean>>();
      const isLive = (record: SubscriptionRecord) => {
        let live = liveness.get(record.session_id);
        if (live === undefined) liveness.set(record.session_id, (live = subscriptions.isLive(record)));
        return live;
      };
      for (const [agent, records] of await subscriptions.all()) {
        const ended = new Set<string>();
        for (const record of records) {
          // Past the session's hard expiry: gone without reading the session.
          if (Date.parse(record.until) <= now().getTime()) ended.add(record.subscription_id);
          if (ended.has(record.subscription_id) || !event.key.startsWith(record.prefix)) continue;
          if (await isLive(record)) {
            await deliverToInbox(inboxContext, keys.inbox(agent), record.subscription_id, event);
          } else {
            ended.add(record.subscription_id);
          }
        }
        if (ended.size > 0) await subscriptions.remove(agent, ended);
      }
    },

    inbox(tenant, agent) {
      return openInbox(inboxContext, watchKeys(tenant).inbox(agent));
    },
  };
}
