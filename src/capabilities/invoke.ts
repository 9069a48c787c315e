import { performance } from 'node:perf_hooks';
import { isAppError, type ErrorCode } from '../core/errors.ts';
import { parseInput } from '../core/parse-input.ts';
import type { CallContext } from './capability.ts';
import { findCapability } from './registry.ts';
import type { StateServices } from './state-services.ts';

export interface CapabilityInvokerOptions {
  readonly services: StateServices;
  /** Told of every call's outcome, for metrics. */
  readonly observe?: (capability: string, seconds: number, outcome: 'ok' | ErrorCode) => void;
}

/** Runs a capability by name for a caller: the one path of the RPC and REST surfaces. */
export type CapabilityInvoker = (name: string, context: CallContext, body: unknown) => Promise<unknown>;

/**
 * Parses the input with the capability's schema (`InvalidInput`, nothing touched, on
 * any problem), runs it, and reports the outcome. (Refusals are audited by the surface,
 * `audit-denials.ts`, which sees every route, not only capabilities.)
 */
export function createCapabilityInvoker(options: CapabilityInvokerOptions): CapabilityInvoker {
  const { services, observe } = options;
  return async (name, context, body) => {
    const capability = findCapability(name);
    const started = performance.now();
    let outcome: 'ok' | ErrorCode = 'ok';
    try {
      const input = parseInput(capability.input, body, `input of ${capability.name}`);
      return await capability.run(services, context, input);
    } catch (error) {
      outcome = isAppError(error) ? error.code : 'Internal';
      throw error;
    } finally {
      observe?.(capability.name, (performance.now() - started) / 1000, outcome);
    }
  };
}
