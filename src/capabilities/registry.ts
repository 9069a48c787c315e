import { AppError } from '../core/errors.ts';
import { backupCapabilities } from './backup-capabilities.ts';
import type { Capability } from './capability.ts';
import { persistentCapabilities } from './persistent-capabilities.ts';
import { sessionCapabilities } from './session-capabilities.ts';
import { sharedCapabilities } from './shared-capabilities.ts';

/** Every capability this service offers, in the order of the spec. */
export const capabilities: readonly Capability[] = [
  ...sessionCapabilities,
  ...persistentCapabilities,
  ...sharedCapabilities,
  ...backupCapabilities,
];

const byName = new Map(capabilities.map((capability) => [capability.name, capability]));

/** The capability called `name`; `RouteNotFound` for a name that is not one. */
export function findCapability(name: string): Capability {
  const capability = byName.get(name);
  if (capability === undefined) {
    throw new AppError(
      'RouteNotFound',
      `there is no capability ${JSON.stringify(name.slice(0, 100))}; GET /v1/capabilities lists them`,
    );
  }
  return capability;
}
