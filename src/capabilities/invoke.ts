import { performance } from 'node:perf_hooks';
import { AppError, isAppError, type ErrorCode } from '../core/errors.ts';
import { hasRole } from '../core/identity/caller.ts';
import { parseInput } from '../core/parse-input.ts';
import type { PendingApprovalAnswer } from '../core/approvals/approval-schemas.ts';
import type { ApprovalDesk } from './approval-desk.ts';
import type { CallContext } from './capability.ts';
import { findCapability, type CapabilityLookup } from './registry.ts';
import type { StateServices } from './state-services.ts';

export interface CapabilityInvokerOptions {
  readonly services: StateServices;
  /** Where Approval Required calls of non-operators wait for a decision. */
  readonly approvals: ApprovalDesk;
  /** @default the capabilities of this service (`registry.ts`) */
  readonly capabilities?: CapabilityLookup;
  /** Told of every call's outcome, for metrics. */
  readonly observe?: (capability: string, seconds: number, outcome: 'ok' | ErrorCode) => void;
  /** Told of every call that succeeded, for the caller's last activity. */
  readonly onSuccess?: (context: CallContext) => void;
}

/** Runs a capability by name for a caller: the one path of the RPC and REST surfaces. */
export type CapabilityInvoker = (name: string, context: CallContext, body: unknown) => Promise<unknown>;

/**
 * Parses the input with the capability's schema (`InvalidInput`, nothing touched, on
 * any problem), gates it by its permission class, runs it, and reports the outcome.
 * This is the one place permission classes gate calls, so every surface gets the same
 * answer: an Approval Required capability runs for an operator (its own approval); for
 * anyone else it files a pending approval and answers `ApprovalRequired` (HTTP 202)
 * with the approval's id, having run nothing. (Refusals are audited by the surface,
 * `audit-denials.ts`, which sees every route, not only capabilities.)
 */
export function createCapabilityInvoker(options: CapabilityInvokerOptions): CapabilityInvoker {
  const { services, approvals, capabilities = findCapability, observe, onSuccess } = options;
  return async (name, context, body) => {
    const capability = capabilities(name);
    const started = performance.now();
    let outcome: 'ok' | ErrorCode = 'ok';
    try {
      const input = parseInput(capability.input, body, `input of ${capability.name}`);
      if (capability.permission === 'approval_required' && !hasRole(context.caller, 'operator')) {
        const approval = await approvals.request(capability.name, context, input);
        throw pendingApproval({
          approval_id: approval.approval_id,
          status: 'pending',
          capability: capability.name,
        });
      }
      const output =
        capability.permission === 'approval_required'
          ? await approvals.runDirectly(capability, context, input)
          : await capability.run(services, context, input);
      onSuccess?.(context);
      return output;
    } catch (error) {
      outcome = isAppError(error) ? error.code : 'Internal';
      throw error;
    } finally {
      observe?.(capability.name, (performance.now() - started) / 1000, outcome);
    }
  };
}

function pendingApproval(answer: PendingApprovalAnswer): AppError {
  return new AppError(
    'ApprovalRequired',
    `${answer.capability} needs the approval of a supervisor or operator: request ${answer.approval_id} is pending`,
    {
      details: answer,
      recovery: [
        {
          action: 'await_approval',
          description: `A supervisor or operator approves it (agentstate approvals approve ${answer.approval_id}); GET /v1/approvals/${answer.approval_id} shows its status and outcome.`,
        },
      ],
    },
  );
}
