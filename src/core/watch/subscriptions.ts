import { AppError, isAppError } from '../errors.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { sessionHandle } from '../sessions/session-record.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { readMany } from '../sessions/store-batches.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import { createKeyIndex, type KeyIndex } from '../state/key-index.ts';
import type { WatchKeys } from './watch-keys.ts';
import { agentSubscriptionsSchema, type SubscriptionRecord } from './watch-records.ts';

export interface SubscriptionsContext {
  readonly kv: KvStore;
  readonly now: () => Date;
  readonly tenant: string;
  readonly keys: WatchKeys;
  /** Live subscriptions one agent may hold. */
  readonly perAgent: number;
}

/** The subscriptions of one tenant's agents (records in `watch-keys.ts`). */
export interface TenantSubscriptions {
  /**
   * Adds `record` to `agent`'s subscriptions: one compare-and-swap on its record, after
   * the agent is in the tenant's index (a crash in between leaves an indexed agent with
   * nothing new, which deliveries skip). At the limit, subscriptions whose session is
   * gone make room first; if none is, `SubscriptionFailed`.
   */
  add(agent: string, record: SubscriptionRecord): Promise<void>;
  /** Every agent's subscriptions, as one read of the index and one bulk read. */
  all(): Promise<Map<string, readonly SubscriptionRecord[]>>;
  /** Removes the subscriptions `ids` of `agent`, if it still has them. */
  remove(agent: string, ids: ReadonlySet<string>): Promise<void>;
  /** Whether the subscription's session is live. Reads without counting as session activity. */
  isLive(record: SubscriptionRecord): Promise<boolean>;
}

export function tenantSubscriptions(ctx: SubscriptionsContext): TenantSubscriptions {
  const { kv, keys, tenant, now } = ctx;
  const index = createKeyIndex(kv, { namespace: keys.indexNamespace });

  async function read(agent: string) {
    const storeKey = keys.subscriptions(agent);
    const entry = await kv.get(storeKey);
    if (entry === undefined) return { subscriptions: [], etag: undefined };
    return { ...decodeRecord(agentSubscriptionsSchema, entry, storeKey), etag: entry.etag };
  }

  async function save(agent: string, etag: string | undefined, subscriptions: SubscriptionRecord[]) {
    await kv.save(
      keys.subscriptions(agent),
      { subscriptions },
      etag === undefined ? { ifAbsent: true } : { etag },
    );
  }

  // A subscription delivers nothing after its session ended, so a delivery (which is not
  // a call of the agent) must not keep the session alive: `Sessions.get` would record
  // activity, so this reads the session record the way every session call does, without
  // refreshing it.
  async function isLive(record: SubscriptionRecord): Promise<boolean> {
    if (Date.parse(record.until) <= now().getTime()) return false;
    try {
      await sessionHandle({ kv, now }, tenant, record.session_id).read();
      return true;
    } catch (error) {
      if (isAppError(error, 'SessionNotFound')) return false;
      throw error;
    }
  }

  return {
    async add(agent, record) {
      await index.add(agent);
      await retryOnConflict(`subscribe of ${keys.subscriptions(agent)}`, async () => {
        const current = await read(agent);
        let kept = current.subscriptions;
        if (kept.length >= ctx.perAgent) kept = await filterAsync(kept, isLive);
        if (kept.length >= ctx.perAgent) throw tooManySubscriptions(agent, ctx.perAgent);
        await save(agent, current.etag, [...kept, record]);
      });
    },

    async all() {
      const agents = await listAll(index);
      const found = await readMany(kv, agents.map(keys.subscriptions));
      const result = new Map<string, readonly SubscriptionRecord[]>();
      for (const agent of agents) {
        const storeKey = keys.subscriptions(agent);
        const entry = found.get(storeKey);
        if (entry !== undefined)
          result.set(agent, decodeRecord(agentSubscriptionsSchema, entry, storeKey).subscriptions);
      }
      return result;
    },

    async remove(agent, ids) {
      await retryOnConflict(`unsubscribe of ${keys.subscriptions(agent)}`, async () => {
        const current = await read(agent);
        const kept = current.subscriptions.filter((s) => !ids.has(s.subscription_id));
        if (kept.length === current.subscriptions.length) return;
        await save(agent, current.etag, kept);
      });
    },

    isLive,
  };
}

async function listAll(index: KeyIndex): Promise<string[]> {
  const all: string[] = [];
  let after: string | undefined;
  do {
    const page = await index.list(after === undefined ? {} : { after });
    all.push(...page.keys);
    after = page.cursor;
  } while (after !== undefined);
  return all;
}

async function filterAsync<T>(items: readonly T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const verdicts = await Promise.all(items.map(keep));
  return items.filter((_, i) => verdicts[i]);
}

function tooManySubscriptions(agent: string, limit: number): AppError {
  return new AppError(
    'SubscriptionFailed',
    `agent ${JSON.stringify(agent)} already has ${limit} live subscriptions, the most it may hold`,
    {
      details: { limit },
      recovery: [
        {
          action: 'end_session',
          description:
            'End sessions whose subscriptions are no longer needed: their subscriptions end with them.',
        },
      ],
    },
  );
}
