import type { ApprovalStore } from '../core/approvals/approval-store.ts';
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
  /** The tenant's approvals of Approval Required calls. */
  approvals(tenant: string): ApprovalStore;
  /** The tenant's audit trail (Notify actions, approvals, admin actions). */
  audit(tenant: string): AuditTrail;
}
