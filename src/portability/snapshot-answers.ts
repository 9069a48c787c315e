import { z } from 'zod';
import { SNAPSHOT_ID_PATTERN } from './snapshot-id.ts';

const snapshotId = z.string().regex(SNAPSHOT_ID_PATTERN);

/** The answer of `GET /v1/agents/{agent}/sessions/{session}/snapshots`. */
export const snapshotListAnswerSchema = z.strictObject({
  snapshot_ids: z.array(snapshotId).describe('Stored snapshot ids, oldest first.'),
  count: z.number().int().nonnegative(),
  next_token: snapshotId
    .exactOptional()
    .describe('Present when more ids follow: pass it as `start_after` for the next page.'),
});
export type SnapshotListAnswer = z.infer<typeof snapshotListAnswerSchema>;

/** The answer of `POST /v1/agents/{agent}/sessions/{session}/snapshots`. */
export const checkpointAnswerSchema = z.strictObject({
  snapshot_id: snapshotId.describe('The stored snapshot, now the latest of its session.'),
  messages: z.number().int().nonnegative(),
  events: z.number().int().nonnegative(),
});
export type CheckpointAnswer = z.infer<typeof checkpointAnswerSchema>;
