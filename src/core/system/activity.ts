import { z } from 'zod';
import type { KvStore } from '../../ports/kv-store.ts';
import { idSchema } from '../identity/caller.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';

/** An agent's last activity as stored: coarse (flushed every few seconds), never going back. */
export const agentActivitySchema = z.object({
  agent: idSchema,
  last_activity: z.iso.datetime(),
  /** The sessions it was last seen in, most recent last, at most `MAX_SESSIONS`. */
  sessions: z.array(z.string()),
});
export type AgentActivity = z.infer<typeof agentActivitySchema>;

const MAX_SESSIONS = 20;

/**
 * When each agent was last active, without a store write on any call's acknowledged
 * path: `touch` only notes the time in this worker's memory, and `flush` (run in the
 * background every few seconds, and at shutdown) writes what changed, one
 * compare-and-swap per agent that only ever moves the time forward, so workers that
 * flush in any order converge on the latest. Under `${tenant}/activity/`: `a/<agent>`
 * records and a key index of the agents. A worker that dies loses at most one interval
 * of activity, which only makes a briefing reach a little further back.
 */
export interface ActivityTracker {
  /** Notes that `agent` of `tenant` acted at `at` (in `session`, if any). Memory only. */
  touch(tenant: string, agent: string, at: Date, session?: string): void;
  /** The agent's last activity: what this worker has not flushed yet, else the store's. */
  lastActivity(tenant: string, agent: string): Promise<string | undefined>;
  /** Every agent of the tenant known to have been active, with this worker's news merged. */
  agents(tenant: string): Promise<AgentActivity[]>;
  /** Writes the activity noted since the last flush. */
  flush(): Promise<void>;
}

export function createActivityTracker(kv: KvStore): ActivityTracker {
  /** Not yet flushed, by `tenant/agent`. */
  const pending = new Map<string, { tenant: string; activity: AgentActivity }>();
  /** Agents this worker has put in their tenant's index. */
  const indexed = new Set<string>();
  const recordKey = (tenant: string, agent: string) => `${tenant}/activity/a/${agent}`;
  const index = (tenant: string) => createKeyIndex(kv, { namespace: `${tenant}/activity/` });

  async function stored(tenant: string, agents: readonly string[]): Promise<Map<string, AgentActivity>> {
    const keys = agents.map((agent) => recordKey(tenant, agent));
    const found = await kv.getBulk(keys);
    const byAgent = new Map<string, AgentActivity>();
    for (const key of keys) {
      const entry = found.get(key);
      if (entry !== undefined) {
        const activity = decodeRecord(agentActivitySchema, entry, key);
        byAgent.set(activity.agent, activity);
      }
    }
    return byAgent;
  }

  async function write(tenant: string, news: AgentActivity): Promise<void> {
    const key = recordKey(tenant, news.agent);
    if (!indexed.has(`${tenant}/${news.agent}`)) {
      await index(tenant).add(news.agent);
      indexed.add(`${tenant}/${news.agent}`);
    }
    await retryOnConflict(`update of ${key}`, async () => {
      const entry = await kv.get(key);
      const current = entry === undefined ? undefined : decodeRecord(agentActivitySchema, entry, key);
      const next = current === undefined ? news : merge(current, news);
      if (current !== undefined && next.last_activity === current.last_activity) return;
      await kv.save(key, next, entry === undefined ? { ifAbsent: true } : { etag: entry.etag });
    });
  }

  return {
    touch(tenant, agent, at, session) {
      const id = `${tenant}/${agent}`;
      const news: AgentActivity = {
        agent,
        last_activity: at.toISOString(),
        sessions: session === undefined ? [] : [session],
      };
      const before = pending.get(id);
      pending.set(id, { tenant, activity: before === undefined ? news : merge(before.activity, news) });
    },

    async lastActivity(tenant, agent) {
      const news = pending.get(`${tenant}/${agent}`)?.activity.last_activity;
      return news ?? (await stored(tenant, [agent])).get(agent)?.last_activity;
    },

    async agents(tenant) {
      assertValidNamespaceId('tenant', tenant);
      const names: string[] = [];
      for (let cursor: string | undefined; ;) {
        const page = await index(tenant).list({
          limit: 1000,
          ...(cursor === undefined ? {} : { after: cursor }),
        });
        names.push(...page.keys);
        if (page.cursor === undefined) break;
        cursor = page.cursor;
      }
      for (const { tenant: of, activity } of pending.values())
        if (of === tenant && !names.includes(activity.agent)) names.push(activity.agent);
      const found = await stored(tenant, names);
      // An indexed agent without a record (its writer died in between) has no activity yet.
      return names.sort().flatMap((agent) => {
        const news = pending.get(`${tenant}/${agent}`)?.activity;
        const known = found.get(agent);
        if (news === undefined) return known === undefined ? [] : [known];
        return [known === undefined ? news : merge(known, news)];
      });
    },

    async flush() {
      const batch = [...pending.entries()];
      for (const [id] of batch) pending.delete(id);
      for (const [id, { tenant, activity }] of batch) {
        try {
          await write(tenant, activity);
        } catch (error) {
          // Kept for the next flush, unless newer news arrived meanwhile (merged then).
          const newer = pending.get(id);
          pending.set(id, {
            tenant,
            activity: newer === undefined ? activity : merge(activity, newer.activity),
          });
          throw error;
        }
      }
    },
  };
}

/** The later of two activities, with the sessions of both (most recent last). */
function merge(a: AgentActivity, b: AgentActivity): AgentActivity {
  const [older, newer] = a.last_activity <= b.last_activity ? [a, b] : [b, a];
  const sessions = [...older.sessions.filter((s) => !newer.sessions.includes(s)), ...newer.sessions];
  return { agent: a.agent, last_activity: newer.last_activity, sessions: sessions.slice(-MAX_SESSIONS) };
}

/**
 * Flushes `tracker` every `intervalMs` in the background (the timer keeps no process
 * alive); `stop` ends that and flushes what is left. A failed flush is reported and
 * retried at the next interval.
 */
export function startActivityFlush(
  tracker: ActivityTracker,
  intervalMs: number,
  report: (error: unknown) => void,
): { stop(): Promise<void> } {
  const flush = () => tracker.flush().catch(report);
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(flush);
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
