import type { Backups } from '../backups/backups.ts';
import type { ApprovalStore } from '../core/approvals/approval-store.ts';
import type { Json } from '../core/json.ts';
import type { Journal } from '../core/briefing/journal.ts';
import type { ActivityTracker } from '../core/system/activity.ts';
import type { SystemSnapshotStore } from '../core/system/snapshot-store.ts';
import type { ComponentHealth } from '../core/system/system-snapshot.ts';
import type { Sessions } from '../core/sessions/sessions.ts';
import type { PersistentState } from '../core/state/persistent-state.ts';
import type { AuditTrail } from '../core/state/shared-audit.ts';
import type { SharedState } from '../core/state/shared-state.ts';
import type { Watches } from '../core/watch/watches.ts';

/**
 * The domain services a capability runs on, scoped per call: persistent state by tenant
 * and agent, shared state by tenant. Built once per worker over its adapters; holds no
 * state of its own, so any worker serves any call.
 */
export interface StateServices {
  readonly sessions: Sessions;
  persistent(tenant: string, agent: string): PersistentState;
  shared(tenant: string): SharedState;
  readonly watches: Watches;
  readonly backups: Backups;
  /** The tenant's approvals of Approval Required calls. */
  approvals(tenant: string): ApprovalStore;
  /** The tenant's audit trail (Notify actions, approvals, admin actions). */
  audit(tenant: string): AuditTrail;
  /** Agents' last activity, noted in memory per worker and flushed in the background. */
  readonly activity: ActivityTracker;
  /** What other systems report (filesystem changes, process events, alerts). */
  journal(tenant: string): Journal;
  /** The tenant's system snapshots. */
  systemSnapshots(tenant: string): SystemSnapshotStore;
  /** Probes each component behind the service now. */
  health(): Promise<ComponentHealth[]>;
  /** Publishes a Notify-class action's notification (topic `agentstate.notifications`). */
  notify(notification: Json): Promise<void>;
  /** The configured quotas, for reports of quota use. */
  readonly quotas: { readonly persistentBytes: number; readonly sharedBytes: number };
}
