import type { z } from 'zod';
import type { Caller } from '../core/identity/caller.ts';
import type { StateServices } from './state-services.ts';

/**
 * The permission classes of the spec: `autonomous` runs; `notify` runs, publishes a
 * notification and writes an audit record; `approval_required` waits for a supervisor.
 */
export type PermissionClass = 'autonomous' | 'notify' | 'approval_required';

/** Who a capability call runs for, as the surface established it. */
export interface CallContext {
  readonly caller: Caller;
  /**
   * The agent whose state the call reads or writes: `x-agent-id` when a supervisor,
   * operator or gateway names one, the caller's principal otherwise. Authorization
   * decides whether the caller may.
   */
  readonly agent: string;
  /** The current session, from `x-session-id`; `state.session.*` and `watch` need it. */
  readonly sessionId?: string;
  /**
   * Set when an Approval Required capability runs because a supervisor or operator
   * approved the request of `caller` (who is still the requester).
   */
  readonly approval?: { readonly id: string; readonly approvedBy: string };
}

/**
 * One capability of the spec: its name, class, the zod schemas of its inputs and
 * outputs (from which its JSON Schemas are generated) and what it does. `run` gets
 * parsed input and authorizes before it touches storage.
 */
export interface Capability<Input = unknown, Output = unknown> {
  readonly name: string;
  readonly permission: PermissionClass;
  readonly description: string;
  readonly input: z.ZodType<Input>;
  readonly output: z.ZodType<Output>;
  run(services: StateServices, context: CallContext, input: Input): Promise<Output>;
}

/**
 * Infers `run`'s input and output types from the schemas, then widens the capability
 * for the registry (`run` is a method, so TypeScript allows the widening).
 */
export function defineCapability<Input, Output>(capability: Capability<Input, Output>): Capability {
  return capability;
}
