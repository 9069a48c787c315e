import { describe, inject } from 'vitest';

/** What the integration project's globalSetup found on this machine. */
export type IntegrationPrerequisites =
  | { readonly available: true; readonly daprdPath: string }
  | { readonly available: false; readonly missing: readonly string[] };

declare module 'vitest' {
  export interface ProvidedContext {
    agentstateIntegration: IntegrationPrerequisites;
  }
}

/** The prerequisites globalSetup provided; unavailable when it did not run. */
export function integrationPrerequisites(): IntegrationPrerequisites {
  // `inject` answers undefined when the file runs outside the integration project.
  const provided = inject('agentstateIntegration') as IntegrationPrerequisites | undefined;
  return (
    provided ?? {
      available: false,
      missing: ['the integration globalSetup (run vitest --project integration)'],
    }
  );
}

/**
 * A `describe` for suites that start daprd, Redis, PostgreSQL or Azurite. Where a
 * prerequisite is missing (never under CI=true: globalSetup fails the run instead) the
 * suite is skipped and its name says what is missing.
 */
export function describeWithDapr(name: string, fn: () => void): void {
  const prerequisites = integrationPrerequisites();
  const title = prerequisites.available
    ? name
    : `${name} [skipped: missing ${prerequisites.missing.join('; ')}; run deploy/test-deps.sh --check-or-install]`;
  describe.skipIf(!prerequisites.available)(title, fn);
}
