import { AppError } from '../core/errors.ts';
import { backupCapabilities } from './backup-capabilities.ts';
import type { Capability } from './capability.ts';
import { persistentCapabilities } from './persistent-capabilities.ts';
import { sessionCapabilities } from './session-capabilities.ts';
import { sharedCapabilities } from './shared-capabilities.ts';
import { briefingCapabilities, snapshotCapabilities } from './system-capabilities.ts';

/** Every capability this service offers, in the order of the spec. */
export const capabilities: readonly Capability[] = [
  ...sessionCapabilities,
  ...persistentCapabilities,
  ...sharedCapabilities,
  ...snapshotCapabilities,
  ...briefingCapabilities,
  ...backupCapabilities,
];

/** Finds a capability by name; `RouteNotFound` for a name that is not one. */
export type CapabilityLookup = (name: string) => Capability;

/** The lookup of `list` (tests pass their own capabilities; the worker passes `capabilities`). */
export function capabilityLookup(list: readonly Capability[]): CapabilityLookup {
  const byName = new Map(list.map((capability) => [capability.name, capability]));
  return (name) => {
    const capability = byName.get(name);
    if (capability === undefined) {
      throw new AppError(
        'RouteNotFound',
        `there is no capability ${JSON.stringify(name.slice(0, 100))}; GET /v1/capabilities lists them`,
      );
    }
    return capability;
  };
}

/** The capability called `name` of this service; `RouteNotFound` for a name that is not one. */
export const findCapability: CapabilityLookup = capabilityLookup(capabilities);
