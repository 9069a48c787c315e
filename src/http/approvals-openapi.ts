import { auditAnswerSchema, auditQuerySchema } from '../capabilities/audit-query.ts';
import {
  approvalListQuerySchema,
  approvalListSchema,
  approvalSchema,
  denyInputSchema,
} from '../core/approvals/approval-schemas.ts';
import { journalEntrySchema, journalInputSchema } from '../core/briefing/journal.ts';
import type { Operation } from './openapi.ts';

/** The routes of `routes/approvals.ts`, `routes/audit.ts` and `routes/system.ts`. */
export const approvalOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/v1/approvals',
    summary:
      "The tenant's approval requests, oldest first (an agent sees its own); `status=pending` for the queue",
    querySchema: approvalListQuerySchema,
    response: approvalListSchema,
  },
  {
    method: 'get',
    path: '/v1/approvals/{id}',
    summary: 'One approval request, with its outcome once it ran',
    response: approvalSchema,
  },
  {
    method: 'post',
    path: '/v1/approvals/{id}/approve',
    summary: 'Approve a pending request (supervisor or operator, not the requester): the call runs once',
    response: approvalSchema,
  },
  {
    method: 'post',
    path: '/v1/approvals/{id}/deny',
    summary: 'Deny a pending request (supervisor or operator, not the requester)',
    body: denyInputSchema,
    response: approvalSchema,
  },
  {
    method: 'get',
    path: '/v1/audit',
    summary: "The tenant's audit trail in [from, to) (default: the last 24 hours); operators only",
    querySchema: auditQuerySchema,
    response: auditAnswerSchema,
  },
  {
    method: 'post',
    path: '/v1/snapshots/system',
    summary: "Take a system snapshot of the caller's tenant",
    capability: 'state.snapshot.create',
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/snapshots/system',
    summary: "The tenant's system snapshots, newest first",
    capability: 'state.snapshot.list',
  },
  {
    method: 'get',
    path: '/v1/snapshots/system/{id}',
    summary: 'Load a system snapshot',
    capability: 'state.snapshot.load',
  },
  {
    method: 'get',
    path: '/v1/briefing',
    summary: "What changed since the agent's last activity (or `since`), rule-based",
    capability: 'state.briefing.generate',
    query: ['since', 'detail_level'],
  },
  {
    method: 'post',
    path: '/v1/journal',
    summary: 'Report a filesystem change, process event or alert for briefings and snapshots',
    body: journalInputSchema,
    response: journalEntrySchema,
    status: 201,
  },
];
