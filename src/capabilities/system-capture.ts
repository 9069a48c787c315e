import { isAppError } from '../core/errors.ts';
import { SYSTEM_SNAPSHOT_FORMAT, type SystemSnapshot } from '../core/system/system-snapshot.ts';
import type { ApprovalStore } from '../core/approvals/approval-store.ts';
import type { Approval } from '../core/approvals/approval-schemas.ts';
import { allPersistentEntries, allSharedEntries } from './scope-statistics.ts';
import type { StateServices } from './state-services.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * What a system snapshot of `tenant` holds, read now: the agents known to the activity
 * tracker with their open sessions, quota use, pending approvals, the last day's
 * alerts, component health, and key counts and bytes per scope. Reads only.
 */
export async function captureSystem(
  services: StateServices,
  tenant: string,
  id: { snapshot_id: string; taken_by: string },
  now: Date,
): Promise<SystemSnapshot> {
  const activities = await services.activity.agents(tenant);
  const agents = await Promise.all(
    activities.map(async (activity) => ({
      agent: activity.agent,
      last_activity: activity.last_activity,
      open_sessions: await openSessions(services, tenant, activity.sessions),
    })),
  );
  const perAgent = await Promise.all(
    activities.map(async ({ agent }) => {
      const state = services.persistent(tenant, agent);
      const [entries, usage] = await Promise.all([allPersistentEntries(state), state.usage()]);
      return { agent, entries, used: usage.bytes };
    }),
  );
  const shared = services.shared(tenant);
  const [sharedEntries, sharedUsage, pending, journal, health] = await Promise.all([
    allSharedEntries(shared),
    shared.usage(),
    allPending(services.approvals(tenant)),
    services.journal(tenant).between(new Date(now.getTime() - DAY_MS), new Date(now.getTime() + 1)),
    services.health(),
  ]);
  const sum = (entries: readonly { size_bytes: number }[]) => entries.reduce((n, e) => n + e.size_bytes, 0);
  return {
    format: SYSTEM_SNAPSHOT_FORMAT,
    ...id,
    timestamp: now.toISOString(),
    tenant,
    agents,
    resources: {
      tenant: {
        shared: { used_bytes: sharedUsage.bytes, quota_bytes: services.quotas.sharedBytes },
        persistent_used_bytes: perAgent.reduce((n, agent) => n + agent.used, 0),
      },
      agents: perAgent.map(({ agent, used }) => ({
        agent,
        persistent: { used_bytes: used, quota_bytes: services.quotas.persistentBytes },
      })),
    },
    pending_approvals: pending.map((approval) => ({
      approval_id: approval.approval_id,
      capability: approval.capability,
      requester: approval.requester.caller.principal,
      requested_at: approval.requested_at,
    })),
    alerts: journal.filter((entry) => entry.kind === 'alert'),
    health,
    state: {
      scopes: [
        { scope: 'shared', keys: sharedEntries.length, bytes: sum(sharedEntries) },
        ...perAgent.map(({ agent, entries }) => ({
          scope: `persistent:${agent}`,
          keys: entries.length,
          bytes: sum(entries),
        })),
      ],
    },
  };
}

/** Of the sessions an agent was last seen in, those still open. */
async function openSessions(services: StateServices, tenant: string, ids: readonly string[]) {
  const open = await Promise.all(
    ids.map((id) =>
      services.sessions.get(tenant, id).then(
        // An ended or expired session is not found: one that is found is open.
        () => [id],
        (error: unknown) => {
          if (isAppError(error, 'SessionNotFound')) return [];
          throw error;
        },
      ),
    ),
  );
  return open.flat();
}

/** Every pending approval of the tenant. */
export async function allPending(store: ApprovalStore): Promise<Approval[]> {
  const found: Approval[] = [];
  for (let cursor: string | undefined; ;) {
    const page = await store.list({
      status: 'pending',
      limit: 1000,
      ...(cursor === undefined ? {} : { cursor }),
    });
    found.push(...page.approvals);
    if (page.cursor === undefined) return found;
    cursor = page.cursor;
  }
}
