import { z } from 'zod';
import { callerSchema, idSchema } from '../identity/caller.ts';
import { jsonSchema } from '../json.ts';

const timestamp = z.iso.datetime();

/**
 * Where an approval stands: `pending` until a supervisor decides; `denied`; `approved`
 * while its capability runs (and for good, if the worker running it died: an approved
 * request runs at most once); `completed` or `failed` with the run's outcome.
 */
export const approvalStatusSchema = z.enum(['pending', 'approved', 'denied', 'completed', 'failed']);
export type ApprovalStatus = z.infer<typeof approvalStatusSchema>;

/** `apr-YYYYMMDDTHHMMSS-<8 hex>`: sorts by request time, unguessable enough to name in a URL. */
export const approvalIdSchema = z.string().regex(/^apr-\d{8}T\d{6}-[0-9a-f]{8}$/, 'is not an approval id');

/** Who asked, as the surface established it: the run happens in this context. */
export const requesterSchema = z.object({
  caller: callerSchema,
  agent: idSchema,
  session_id: z.string().exactOptional(),
});

/** One request for an Approval Required capability, as stored and as answered. */
export const approvalSchema = z.object({
  approval_id: approvalIdSchema,
  tenant: idSchema,
  capability: z.string(),
  /** The parsed input the capability will run with. */
  input: jsonSchema,
  requester: requesterSchema,
  status: approvalStatusSchema,
  requested_at: timestamp,
  decided_at: timestamp.exactOptional(),
  decided_by: idSchema.exactOptional(),
  /** Why it was denied, when the denier said. */
  reason: z.string().exactOptional(),
  completed_at: timestamp.exactOptional(),
  /** The capability's output (e.g. the backup id), when it completed. */
  output: jsonSchema.exactOptional(),
  /** The error it failed with. */
  error: z.object({ code: z.string(), message: z.string() }).exactOptional(),
});
export type Approval = z.infer<typeof approvalSchema>;

/** The answer to a call that needs approval (HTTP 202): nothing ran yet. */
export const pendingApprovalAnswerSchema = z.object({
  approval_id: approvalIdSchema,
  status: z.literal('pending'),
  capability: z.string(),
});
export type PendingApprovalAnswer = z.infer<typeof pendingApprovalAnswerSchema>;

export const approvalListQuerySchema = z.strictObject({
  status: approvalStatusSchema.exactOptional(),
  limit: z.int().min(1).max(1000).exactOptional(),
  cursor: z.string().max(200).exactOptional(),
});
export type ApprovalListQuery = z.infer<typeof approvalListQuerySchema>;

export const approvalListSchema = z.object({
  approvals: z.array(approvalSchema),
  count: z.int(),
  /** Pass back as `cursor` for the next page; absent on the last. */
  cursor: z.string().exactOptional(),
});
export type ApprovalList = z.infer<typeof approvalListSchema>;

export const denyInputSchema = z.strictObject({ reason: z.string().max(1000).exactOptional() });
