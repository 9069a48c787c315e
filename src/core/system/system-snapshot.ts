import { z } from 'zod';
import { approvalIdSchema } from '../approvals/approval-schemas.ts';
import { journalEntrySchema } from '../briefing/journal.ts';
import { idSchema } from '../identity/caller.ts';

export const SYSTEM_SNAPSHOT_FORMAT = 'agentstate.system-snapshot/1';

/** `snap-YYYYMMDDTHHMMSS`, with `-NNN` for the second and later snapshots of one second. */
export const systemSnapshotIdSchema = z.string().regex(/^snap-\d{8}T\d{6}(-\d{3})?$/);

const timestamp = z.iso.datetime();
const count = z.int().nonnegative();

/** One component behind the service and whether it answered a probe just now. */
export const componentHealthSchema = z.object({
  component: z.enum(['kv', 'blobs', 'secrets']),
  adapter: z.string(),
  ok: z.boolean(),
  latency_ms: count,
  error: z.string().exactOptional(),
});
export type ComponentHealth = z.infer<typeof componentHealthSchema>;

const usageSchema = z.object({ used_bytes: count, quota_bytes: count });

/**
 * What `state.snapshot.create` captures of a tenant and `state.snapshot.load` answers.
 * Usage is the engine's (converging) counters; key counts and bytes come from listing
 * every scope, so they are exact at the moment each scope was listed.
 */
export const systemSnapshotSchema = z.object({
  format: z.literal(SYSTEM_SNAPSHOT_FORMAT),
  snapshot_id: systemSnapshotIdSchema,
  timestamp,
  tenant: idSchema,
  taken_by: idSchema,
  /** Every agent known to have been active, with its open sessions. */
  agents: z.array(
    z.object({ agent: idSchema, last_activity: timestamp, open_sessions: z.array(z.string()) }),
  ),
  /** Quota use per agent (persistent state) and of the tenant (shared state). */
  resources: z.object({
    tenant: z.object({ shared: usageSchema, persistent_used_bytes: count }),
    agents: z.array(z.object({ agent: idSchema, persistent: usageSchema })),
  }),
  pending_approvals: z.array(
    z.object({
      approval_id: approvalIdSchema,
      capability: z.string(),
      requester: idSchema,
      requested_at: timestamp,
    }),
  ),
  /** Alerts posted to the journal in the 24 hours before the snapshot. */
  alerts: z.array(journalEntrySchema),
  health: z.array(componentHealthSchema),
  /** Key counts and bytes per scope: `shared`, and `persistent:<agent>` for each agent. */
  state: z.object({ scopes: z.array(z.object({ scope: z.string(), keys: count, bytes: count })) }),
});
export type SystemSnapshot = z.infer<typeof systemSnapshotSchema>;

/** One entry of `state.snapshot.list`, and the answer of `state.snapshot.create`. */
export const snapshotSummarySchema = z.object({
  snapshot_id: systemSnapshotIdSchema,
  timestamp,
  size_bytes: count,
});
export type SnapshotSummary = z.infer<typeof snapshotSummarySchema>;

export const snapshotCreateInputSchema = z.strictObject({});
export const snapshotListInputSchema = z.strictObject({});
export const snapshotListResultSchema = z.object({
  snapshots: z.array(snapshotSummarySchema).describe('Newest first.'),
  count,
});
export const snapshotLoadInputSchema = z.strictObject({
  snapshot_id: z.string().min(1).max(200).describe('The snapshot to load (from state.snapshot.list).'),
});
export const snapshotLoadResultSchema = z.object({ snapshot: systemSnapshotSchema });
