import { z } from 'zod';
import { parseTimestamp } from '../core/approvals/timestamp.ts';
import { canReadAudit } from '../core/identity/authorize.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { DenialAudit, DenialRecord } from '../core/identity/denial-audit.ts';
import { auditRecordSchema, type AuditRecord } from '../core/state/shared-audit.ts';
import type { StateServices } from './state-services.ts';

/** `GET /v1/audit` parameters: a time range, `to` excluded. */
export const auditQuerySchema = z.strictObject({
  /** @default 24 hours before `to` */
  from: z.string().exactOptional(),
  /** @default now */
  to: z.string().exactOptional(),
  /** Only records of this action (a capability name, `approval.approved`, ...). */
  action: z.string().max(200).exactOptional(),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export const auditAnswerSchema = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  records: z.array(auditRecordSchema),
  count: z.int(),
});
export type AuditAnswer = z.infer<typeof auditAnswerSchema>;

const DAY_MS = 24 * 60 * 60 * 1000;
// Denials read per store call while walking the range.
const DENIALS_PER_PAGE = 500;

/**
 * The tenant's audit trail between `from` and `to`, for its operators: the actions
 * (Notify, approvals, snapshots) and the refused requests, in time order. A bad
 * timestamp is `InvalidTimestamp`.
 */
export async function readAudit(
  services: StateServices,
  denials: DenialAudit,
  caller: Caller,
  query: AuditQuery,
  now: Date = new Date(),
): Promise<AuditAnswer> {
  const to = query.to === undefined ? now : parseTimestamp(query.to, 'to');
  const from =
    query.from === undefined ? new Date(to.getTime() - DAY_MS) : parseTimestamp(query.from, 'from');
  canReadAudit(caller, caller.tenant);
  const [actions, refused] = await Promise.all([
    services.audit(caller.tenant).readRange(from, to),
    deniedBetween(denials, caller.tenant, from, to),
  ]);
  const records = [...actions, ...refused.map(asAuditRecord)]
    .filter((record) => query.action === undefined || record.action === query.action)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { from: from.toISOString(), to: to.toISOString(), records, count: records.length };
}

/** The denials with `from <= at < to`: their index lists `<at>/<id>`, so the walk starts at `from`. */
async function deniedBetween(denials: DenialAudit, tenant: string, from: Date, to: Date) {
  const [first, last] = [from.toISOString(), to.toISOString()];
  const found: DenialRecord[] = [];
  let cursor: string | undefined = first;
  while (cursor !== undefined) {
    const page = await denials.list(tenant, { limit: DENIALS_PER_PAGE, cursor });
    for (const record of page.records) {
      if (record.at >= last) return found;
      found.push(record);
    }
    cursor = page.cursor;
  }
  return found;
}

function asAuditRecord(denial: DenialRecord): AuditRecord {
  return {
    id: denial.id,
    tenant: denial.tenant,
    at: denial.at,
    agent: denial.caller.principal,
    action: denial.action,
    outcome: 'Forbidden',
    details: { reason: denial.reason, roles: denial.caller.roles },
  };
}
