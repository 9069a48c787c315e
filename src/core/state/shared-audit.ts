import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import { jsonSchema } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import type { EngineRuntime } from '../engine/engine-runtime.ts';
import { createDayLog, type DayLog } from './day-log.ts';
import type { SharedChangeEvent } from './shared-events.ts';
import { assertValidNamespaceId } from './user-key.ts';

/**
 * One audited action: every Notify action, every step of an approval (requested,
 * approved, denied, and the outcome of the run) and every admin action. Identified by
 * the id of what it records, so that writing it again (a roll-forward after a crash)
 * adds nothing a reader counts twice.
 */
export const auditRecordSchema = z.object({
  id: z.uuid(),
  tenant: idSchema,
  at: z.iso.datetime(),
  /** Who acted. */
  agent: idSchema,
  /** The capability that ran, or the approval step (`approval.requested`, ...). */
  action: z.string().min(1).max(200),
  /** The permission class of the action; absent on a refused request. */
  permission: z.enum(['notify', 'approval_required', 'admin']).exactOptional(),
  /** `ok`, an error code, or the approval's status after the step. */
  outcome: z.string().max(100).exactOptional(),
  key: z.string().exactOptional(),
  version: z.int().min(1).exactOptional(),
  approval_id: z.string().max(100).exactOptional(),
  /** What else the action is known by, e.g. the capability an approval is for. */
  details: z.record(z.string(), jsonSchema).exactOptional(),
});

export type AuditRecord = z.infer<typeof auditRecordSchema>;

export interface AuditTrailOptions {
  /** Days a record is kept, counted from the day it was written. @default 90 */
  readonly retentionDays?: number;
  /** @default the engine runtime of `kv`, which caches what this worker knows of the trail */
  readonly runtime?: EngineRuntime;
}

/**
 * A tenant's audit trail: a day log (`day-log.ts`) under `${tenant}/audit/`, so that
 * retention drops whole days and no record is written by every write. Shared changes
 * are written after the answer, by their follow-ups (`shared-state.ts`); approvals and
 * system snapshots write theirs as they happen.
 */
export type AuditTrail = DayLog<AuditRecord>;

/** Throws `InvalidInput` unless `tenant` is a valid id. */
export function createAuditTrail(kv: KvStore, tenant: string, options: AuditTrailOptions = {}): AuditTrail {
  assertValidNamespaceId('tenant', tenant);
  return createDayLog(kv, `${tenant}/audit/`, auditRecordSchema, options);
}

/** The audit record of a committed shared change. */
export function auditRecordOf(event: SharedChangeEvent): AuditRecord {
  return {
    id: event.id,
    tenant: event.tenant,
    at: event.at,
    agent: event.owner_agent,
    action: event.operation === 'set' ? 'state.shared.set' : 'state.shared.delete',
    permission: 'notify',
    outcome: 'ok',
    key: event.key,
    version: event.version,
  };
}
