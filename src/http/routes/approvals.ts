import { Router } from 'express';
import type { ApprovalDesk } from '../../capabilities/approval-desk.ts';
import { approvalListQuerySchema, denyInputSchema } from '../../core/approvals/approval-schemas.ts';
import { parseInput } from '../../core/parse-input.ts';
import { bodyOf, queryInput } from '../call-context.ts';

/**
 * Approvals of Approval Required calls (README, Approvals and audit):
 * - `GET  /v1/approvals?status=&limit=&cursor=`: the tenant's requests (an agent: its own)
 * - `GET  /v1/approvals/{id}`: one, with the outcome once it ran
 * - `POST /v1/approvals/{id}/approve`: a supervisor or operator approves; the call runs once
 * - `POST /v1/approvals/{id}/deny` (`{reason?}`)
 */
export function approvalRoutes(desk: ApprovalDesk): Router {
  const router = Router();
  router.get('/v1/approvals', async (req, res) => {
    res.json(await desk.list(req.caller, parseInput(approvalListQuerySchema, queryInput(req), 'query')));
  });
  router.get('/v1/approvals/:id', async (req, res) => {
    res.json(await desk.get(req.caller, req.params.id));
  });
  router.post('/v1/approvals/:id/approve', async (req, res) => {
    res.json(await desk.approve(req.caller, req.params.id));
  });
  router.post('/v1/approvals/:id/deny', async (req, res) => {
    const { reason } = parseInput(denyInputSchema, bodyOf(req), 'body');
    res.json(await desk.deny(req.caller, req.params.id, reason));
  });
  return router;
}
