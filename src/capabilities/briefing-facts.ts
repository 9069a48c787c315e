import { parseTimestamp } from '../core/approvals/timestamp.ts';
import type { BriefingFacts } from '../core/briefing/briefing.ts';
import { hasRole } from '../core/identity/caller.ts';
import type { CallContext } from './capability.ts';
import { agentPersistentState } from './call-scope.ts';
import { allPersistentEntries } from './scope-statistics.ts';
import { allPending } from './system-capture.ts';
import type { StateServices } from './state-services.ts';

// Inbox entries a detailed briefing lists; the count covers them all.
const INBOX_ITEMS = 100;
// With no `since` and no activity on record, a briefing looks back this far.
const DEFAULT_LOOKBACK_MS = 24 * 60 * 60 * 1000;

/**
 * Gathers what changed for the call's agent since `since` (default: its last activity):
 * - shared changes by other agents, from the audit trail of the window;
 * - its persistent keys updated after both `since` and its last activity: its own
 *   writes note activity as they happen, so those were made by someone else (a restore,
 *   an import, an operator);
 * - pending approvals it asked for (all of the tenant's, for a supervisor or operator);
 * - its unread inbox; the tenant's and its own journal entries of the window; health.
 * A `since` that is not ISO 8601 is `InvalidTimestamp`, before anything is read.
 */
export async function gatherBriefingFacts(
  services: StateServices,
  context: CallContext,
  since: string | undefined,
  now: Date,
): Promise<BriefingFacts> {
  const explicit = since === undefined ? undefined : parseTimestamp(since, 'since');
  const { caller, agent } = context;
  const tenant = caller.tenant;
  const state = agentPersistentState(services, context, 'read');
  const lastActivity = await services.activity.lastActivity(tenant, agent);
  const from =
    explicit ??
    (lastActivity === undefined ? new Date(now.getTime() - DEFAULT_LOOKBACK_MS) : new Date(lastActivity));
  const othersAfter =
    lastActivity === undefined || lastActivity < from.toISOString() ? from.toISOString() : lastActivity;
  const to = new Date(now.getTime() + 1);
  const inbox = services.watches.inbox(tenant, agent);
  const [audit, entries, pending, unread, page, journal, health] = await Promise.all([
    services.audit(tenant).readRange(from, to),
    allPersistentEntries(state),
    allPending(services.approvals(tenant)),
    inbox.unread(),
    inbox.list({ limit: INBOX_ITEMS }),
    services.journal(tenant).between(from, to),
    services.health(),
  ]);
  const decides = hasRole(caller, 'supervisor') || hasRole(caller, 'operator');
  return {
    agent,
    since: from.toISOString(),
    generatedAt: now.toISOString(),
    shared: audit.flatMap((record) =>
      record.action.startsWith('state.shared.') &&
      record.agent !== agent &&
      record.key !== undefined &&
      record.version !== undefined
        ? [
            {
              key: record.key,
              operation: record.action === 'state.shared.delete' ? ('delete' as const) : ('set' as const),
              version: record.version,
              agent: record.agent,
              at: record.at,
            },
          ]
        : [],
    ),
    persistent: entries
      .filter((entry) => entry.updated_at > othersAfter)
      .map(({ key, version, updated_at }) => ({ key, version, updated_at })),
    approvals: pending
      .filter((approval) => decides || approval.requester.caller.principal === agent)
      .map((approval) => ({
        approval_id: approval.approval_id,
        capability: approval.capability,
        requester: approval.requester.caller.principal,
        requested_at: approval.requested_at,
      })),
    unread,
    inbox: page.entries,
    journal: journal.filter((entry) => entry.agent === undefined || entry.agent === agent),
    health,
  };
}
