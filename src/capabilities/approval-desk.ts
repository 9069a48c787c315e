import { randomUUID } from 'node:crypto';
import type { Approval, ApprovalList, ApprovalListQuery } from '../core/approvals/approval-schemas.ts';
import { AppError, isAppError } from '../core/errors.ts';
import { canDecideApproval, canSeeApproval } from '../core/identity/authorize.ts';
import { hasRole, type Caller } from '../core/identity/caller.ts';
import type { Json } from '../core/json.ts';
import { parseInput } from '../core/parse-input.ts';
import type { AuditRecord } from '../core/state/shared-audit.ts';
import type { CallContext, Capability } from './capability.ts';
import type { CapabilityLookup } from './registry.ts';
import type { StateServices } from './state-services.ts';

/**
 * The approvals of Approval Required calls (DESIGN.md section 4). The invoker files a
 * request; a supervisor or operator of the tenant approves or denies it; approval runs
 * the capability once, in the requester's context with `approval` added, and records
 * the outcome on the approval, where the requester reads it. Every step is audited.
 */
export interface ApprovalDesk {
  /**
   * Runs an Approval Required capability for an operator, its own approval, and audits
   * the outcome as an approved run's is audited; rethrows what the run threw.
   */
  runDirectly(capability: Capability, context: CallContext, input: unknown): Promise<unknown>;
  /** Files a pending request of `capability` with its parsed `input` for `context`. */
  request(capability: string, context: CallContext, input: unknown): Promise<Approval>;
  /** The approval, to its requester or a supervisor or operator of its tenant. */
  get(caller: Caller, id: string): Promise<Approval>;
  /** A page of the tenant's approvals (a plain agent sees only its own requests). */
  list(caller: Caller, query: ApprovalListQuery): Promise<ApprovalList>;
  /**
   * Approves and runs the request, answering the approval with its outcome. Approving
   * one that was approved already (a replay, or two approvers at once) runs nothing and
   * answers it as it stands; approving a denied one is `VersionConflict`.
   */
  approve(caller: Caller, id: string): Promise<Approval>;
  /** Denies a pending request; denying a denied one again changes nothing. */
  deny(caller: Caller, id: string, reason?: string): Promise<Approval>;
}

export interface ApprovalDeskOptions {
  readonly services: StateServices;
  readonly capabilities: CapabilityLookup;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export function createApprovalDesk(options: ApprovalDeskOptions): ApprovalDesk {
  const { services, capabilities, now = () => new Date() } = options;

  function audit(approval: Approval, agent: string, action: string, outcome: string): Promise<void> {
    const record: AuditRecord = {
      id: randomUUID(),
      tenant: approval.tenant,
      at: now().toISOString(),
      agent,
      action,
      permission: 'approval_required',
      outcome,
      approval_id: approval.approval_id,
      details: { capability: approval.capability, requester: approval.requester.caller.principal },
    };
    return services.audit(approval.tenant).write([record]);
  }

  async function readable(caller: Caller, id: string): Promise<Approval> {
    const approval = await services.approvals(caller.tenant).get(id);
    canSeeApproval(caller, approval.tenant, approval.requester.caller.principal);
    return approval;
  }

  /** Runs the approved request and records how it ended; never throws what the run threw. */
  async function run(approval: Approval): Promise<Approval> {
    const { requester } = approval;
    const context: CallContext = {
      caller: requester.caller,
      agent: requester.agent,
      ...(requester.session_id === undefined ? {} : { sessionId: requester.session_id }),
      approval: { id: approval.approval_id, approvedBy: approval.decided_by ?? '' },
    };
    let ended: Pick<Approval, 'status' | 'output' | 'error'>;
    try {
      const capability = capabilities(approval.capability);
      const input = parseInput(capability.input, approval.input, `input of ${capability.name}`);
      // Outputs are the capability's JSON answers, as the RPC would send them.
      ended = { status: 'completed', output: (await capability.run(services, context, input)) as Json };
    } catch (error) {
      const code = isAppError(error) ? error.code : 'Internal';
      const message = isAppError(error) ? error.message : 'internal error';
      ended = { status: 'failed', error: { code, message } };
    }
    const finished = await services
      .approvals(approval.tenant)
      .transition(approval.approval_id, 'approved', (current) => ({
        ...current,
        ...ended,
        completed_at: now().toISOString(),
      }));
    const result = finished ?? (await services.approvals(approval.tenant).get(approval.approval_id));
    await audit(result, requester.caller.principal, approval.capability, ended.error?.code ?? 'ok');
    return result;
  }

  return {
    async runDirectly(capability, context, input) {
      const { caller } = context;
      let outcome = 'ok';
      try {
        return await capability.run(services, context, input);
      } catch (error) {
        outcome = isAppError(error) ? error.code : 'Internal';
        throw error;
      } finally {
        await services.audit(caller.tenant).write([
          {
            id: randomUUID(),
            tenant: caller.tenant,
            at: now().toISOString(),
            agent: caller.principal,
            action: capability.name,
            permission: 'approval_required',
            outcome,
            details: { approved_by: 'operator acting directly', agent: context.agent },
          },
        ]);
      }
    },

    async request(capability, context, input) {
      const { caller } = context;
      const approval = await services.approvals(caller.tenant).create({
        tenant: caller.tenant,
        capability,
        input: input as Json,
        requester: {
          caller,
          agent: context.agent,
          ...(context.sessionId === undefined ? {} : { session_id: context.sessionId }),
        },
        requested_at: now().toISOString(),
      });
      await audit(approval, caller.principal, 'approval.requested', 'pending');
      return approval;
    },

    get: readable,

    async list(caller, { status, limit, cursor }) {
      const page = await services.approvals(caller.tenant).list({
        ...(status === undefined ? {} : { status }),
        ...(limit === undefined ? {} : { limit }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      const mayDecide = hasRole(caller, 'supervisor') || hasRole(caller, 'operator');
      const approvals = mayDecide
        ? page.approvals
        : page.approvals.filter((approval) => approval.requester.caller.principal === caller.principal);
      return {
        approvals,
        count: approvals.length,
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      };
    },

    async approve(caller, id) {
      const store = services.approvals(caller.tenant);
      const found = await store.get(id);
      canDecideApproval(caller, found.tenant, found.requester.caller.principal);
      const approved = await store.transition(id, 'pending', (current) => ({
        ...current,
        status: 'approved',
        decided_by: caller.principal,
        decided_at: now().toISOString(),
      }));
      if (approved === undefined) {
        const current = await store.get(id);
        if (current.status === 'denied') throw alreadyDecided(current);
        return current;
      }
      await audit(approved, caller.principal, 'approval.approved', 'approved');
      return run(approved);
    },

    async deny(caller, id, reason) {
      const store = services.approvals(caller.tenant);
      const found = await store.get(id);
      canDecideApproval(caller, found.tenant, found.requester.caller.principal);
      const denied = await store.transition(id, 'pending', (current) => ({
        ...current,
        status: 'denied',
        decided_by: caller.principal,
        decided_at: now().toISOString(),
        ...(reason === undefined ? {} : { reason }),
      }));
      if (denied === undefined) {
        const current = await store.get(id);
        if (current.status === 'denied') return current;
        throw alreadyDecided(current);
      }
      await audit(denied, caller.principal, 'approval.denied', 'denied');
      return denied;
    },
  };
}

function alreadyDecided(approval: Approval): AppError {
  return new AppError(
    'VersionConflict',
    `approval ${approval.approval_id} is ${approval.status} already${approval.decided_by === undefined ? '' : ` (by ${approval.decided_by})`}`,
    {
      details: { approval_id: approval.approval_id, status: approval.status },
      recovery: [{ action: 'read_approval', description: 'GET /v1/approvals/{id} shows where it stands.' }],
    },
  );
}
