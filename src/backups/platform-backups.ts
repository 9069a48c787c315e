import { hasRole, type Caller } from '../core/identity/caller.ts';
import type { StateRecord } from './backup-records.ts';
import { loadRecords } from './backup-restore.ts';
import { recordsOf, type BackupSource } from './backup-source.ts';
import { decryptionFailed } from './chunk-cipher.ts';

/**
 * The platform operator: a caller with the `operator` role whose tenant is `tenant`
 * (`AGENTSTATE_PLATFORM_TENANT`). Its full backup holds every tenant of `tenants`.
 */
export interface PlatformOptions {
  readonly tenant: string;
  /** Every tenant with persistent or shared state (the tenant directory, back-filled). */
  readonly tenants: () => AsyncIterable<string>;
}

export function isPlatformOperator(caller: Caller, platform: PlatformOptions | undefined): boolean {
  return platform !== undefined && caller.tenant === platform.tenant && hasRole(caller, 'operator');
}

/** What a platform backup holds: each tenant's full backup in turn, every record naming its tenant. */
export async function* platformRecordsOf(
  source: (tenant: string) => BackupSource,
  tenants: readonly string[],
): AsyncGenerator<StateRecord> {
  for (const tenant of tenants)
    for await (const record of recordsOf(source(tenant), 'full')) yield { ...record, tenant };
}

export interface PlatformLoadOutcome {
  readonly tenants: { tenant: string; agents: string[] }[];
}

/**
 * `records` of a platform backup, each checked to name a tenant of `tenants` in their
 * order: a record that does not was not written by a platform backup, and is
 * `DecryptionFailed` like any record that does not belong. The restore reads the backup
 * through this before it writes anything.
 */
export async function* inTenantOrder(
  backupId: string,
  tenants: readonly string[],
  records: AsyncIterable<StateRecord>,
): AsyncGenerator<StateRecord> {
  let position = 0;
  for await (const record of records) {
    while (position < tenants.length && tenants[position] !== record.tenant) position++;
    if (position === tenants.length)
      throw decryptionFailed(
        backupId,
        'it has a record of a tenant its manifest does not name in that order',
      );
    yield record;
  }
}

/**
 * Makes every tenant of `tenants` what a platform backup's (authenticated) `records`
 * say, one tenant after the other as they follow each other in the backup: each
 * tenant's agents in the backup and its shared state, like a tenant's full restore
 * (`loadRecords`); a tenant with no record gets empty shared state.
 */
export async function loadPlatformRecords(
  backupId: string,
  source: (tenant: string) => BackupSource,
  records: AsyncIterable<StateRecord>,
  options: { tenants: readonly string[]; owner: string },
): Promise<PlatformLoadOutcome> {
  const iterator = inTenantOrder(backupId, options.tenants, records);
  let next = await iterator.next();
  const restored: PlatformLoadOutcome['tenants'] = [];
  for (const tenant of options.tenants) {
    async function* ofTenant(): AsyncGenerator<StateRecord> {
      while (!next.done && next.value.tenant === tenant) {
        const record = next.value;
        next = await iterator.next();
        yield record;
      }
    }
    const outcome = await loadRecords(source(tenant), ofTenant(), {
      agent: undefined,
      restoresShared: true,
      owner: options.owner,
    });
    restored.push({ tenant, agents: outcome.agents });
  }
  return { tenants: restored };
}
