import { readFile } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { findAzuriteBlob } from './azurite.ts';
import { resolveDaprdBinary } from './daprd-binary.ts';
import type { IntegrationPrerequisites } from './integration.ts';
import { findPostgresBinDir } from './postgres.ts';
import { sweepStaleTempDirs } from './process.ts';
import { findRedisServer } from './redis.ts';

// globalSetup of the `integration` project: gets daprd once (building it if the cache
// lacks it) and checks the other servers exist, so that each suite either runs or is
// skipped with the reason in its name. Under CI=true a missing piece fails the run.

async function missingPrerequisites(): Promise<{ missing: string[]; daprdPath?: string }> {
  const missing: string[] = [];
  let daprdPath: string | undefined;
  try {
    daprdPath = await resolveDaprdBinary();
  } catch (error) {
    missing.push(`daprd (${(error as Error).message.split('\n')[0] ?? ''})`);
  }
  if (findRedisServer() === undefined) missing.push('redis-server');
  if ((await findPostgresBinDir()) === undefined) missing.push('PostgreSQL server (initdb, postgres)');
  else if (process.getuid?.() === 0 && !/^postgres:/m.test(await readFile('/etc/passwd', 'utf8'))) {
    missing.push('a "postgres" user to run PostgreSQL as (running as root)');
  }
  if (findAzuriteBlob() === undefined) missing.push('azurite (npm ci)');
  return daprdPath === undefined ? { missing } : { missing, daprdPath };
}

export default async function setup(project: TestProject): Promise<void> {
  await sweepStaleTempDirs();
  const { missing, daprdPath } = await missingPrerequisites();
  let prerequisites: IntegrationPrerequisites;
  if (missing.length === 0 && daprdPath !== undefined) {
    prerequisites = { available: true, daprdPath };
  } else {
    if (process.env['CI'] === 'true') {
      throw new Error(
        `integration tests need: ${missing.join('; ')}. Run bash deploy/test-deps.sh --check-or-install.`,
      );
    }
    prerequisites = { available: false, missing };
  }
  project.provide('agentstateIntegration', prerequisites);
}
