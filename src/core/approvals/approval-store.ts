import { randomBytes } from 'node:crypto';
import type { Json } from '../json.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { AppError, isAppError } from '../errors.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';
import { approvalIdSchema, approvalSchema, type Approval, type ApprovalStatus } from './approval-schemas.ts';

/**
 * The approvals of one tenant, under `${tenant}/approvals/`: `r/<id>` holds an approval
 * and a key index (`i/...`) lists the ids, which sort by request time. Every change of
 * status is one compare-and-swap on the record, so two approvers racing (or an approval
 * replayed) move it once, and only the winner runs the capability.
 */
export interface ApprovalStore {
  /** Stores a new `pending` approval (the record first, then its index entry). */
  create(approval: Omit<Approval, 'approval_id' | 'status'>): Promise<Approval>;
  /** The approval, or `ApprovalNotFound`. */
  get(id: string): Promise<Approval>;
  /**
   * Moves the approval from `from` to what `change` makes of it; answers the new record,
   * or, when it was not in `from` (or another writer moved it first), `undefined`.
   */
  transition(
    id: string,
    from: ApprovalStatus,
    change: (approval: Approval) => Approval,
  ): Promise<Approval | undefined>;
  /** A page of approvals in request order, at most `limit` read, those with `status` kept. */
  list(options: { status?: ApprovalStatus; limit?: number; cursor?: string }): Promise<{
    approvals: Approval[];
    cursor?: string;
  }>;
}

export function createApprovalStore(kv: KvStore, tenant: string): ApprovalStore {
  assertValidNamespaceId('tenant', tenant);
  const namespace = `${tenant}/approvals/`;
  const recordKey = (id: string) => `${namespace}r/${id}`;
  const index = createKeyIndex(kv, { namespace });

  async function read(id: string) {
    if (!approvalIdSchema.safeParse(id).success) throw approvalNotFound(id);
    const entry = await kv.get(recordKey(id));
    if (entry === undefined) throw approvalNotFound(id);
    return { approval: decodeRecord(approvalSchema, entry, recordKey(id)), etag: entry.etag };
  }

  return {
    async create(fields) {
      const approval: Approval = {
        ...fields,
        approval_id: newApprovalId(new Date(fields.requested_at)),
        status: 'pending',
      };
      await kv.save(recordKey(approval.approval_id), approval as Json, { ifAbsent: true });
      await index.add(approval.approval_id);
      return approval;
    },

    get: async (id) => (await read(id)).approval,

    async transition(id, from, change) {
      const { approval, etag } = await read(id);
      if (approval.status !== from) return undefined;
      const next = change(approval);
      try {
        await kv.save(recordKey(id), next as Json, { etag });
        return next;
      } catch (error) {
        if (isAppError(error, 'VersionConflict')) return undefined;
        throw error;
      }
    },

    async list({ status, limit = 100, cursor }) {
      const page = await index.list({ limit, ...(cursor === undefined ? {} : { after: cursor }) });
      const keys = page.keys.map(recordKey);
      const found = await kv.getBulk(keys);
      const approvals = keys.flatMap((key) => {
        const entry = found.get(key);
        return entry === undefined ? [] : [decodeRecord(approvalSchema, entry, key)];
      });
      const kept =
        status === undefined ? approvals : approvals.filter((approval) => approval.status === status);
      return page.cursor === undefined ? { approvals: kept } : { approvals: kept, cursor: page.cursor };
    },
  };
}

/** `ApprovalNotFound` for `id`; another tenant's approvals are not found either. */
export function approvalNotFound(id: string): AppError {
  return new AppError('ApprovalNotFound', `no approval ${JSON.stringify(id.slice(0, 100))} in your tenant`, {
    details: { approval_id: id.slice(0, 100) },
  });
}

function newApprovalId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `apr-${stamp}-${randomBytes(4).toString('hex')}`;
}
