import { afterAll } from 'vitest';
import { integrationPrerequisites } from '../../src/testing/harness/index.ts';

// Shared by the dapr-*.int.test.ts files: the servers of a file start once, on first
// use by any of its suites, and stop after the file's last suite.

const prerequisites = integrationPrerequisites();

/** Why a Dapr conformance suite is skipped, or `undefined` when it runs. */
export const daprSkipReason: string | undefined = prerequisites.available
  ? undefined
  : `missing ${prerequisites.missing.join('; ')}; run deploy/test-deps.sh --check-or-install`;

/** `start` runs once, on the first call; everything it registers with `onStop` stops after the file. */
export function startOnce<T>(
  start: (onStop: (stop: () => Promise<void>) => void) => Promise<T>,
): () => Promise<T> {
  const stops: Array<() => Promise<void>> = [];
  let started: Promise<T> | undefined;
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  }, 60_000);
  return () => (started ??= start((stop) => void stops.push(stop)));
}
