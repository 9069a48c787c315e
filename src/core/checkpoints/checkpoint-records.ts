import { z } from 'zod';
import { jsonSchema } from '../json.ts';
import { checkpointIdSchema, serializedValueSchema } from './checkpoint-schemas.ts';

// The records checkpoints keep, decoded with these schemas whenever read.

/** The value of a thread's head in the agent's `th/` namespace. */
export const threadRecordSchema = z.object({
  /** The greatest checkpoint id per checkpoint namespace: what getTuple without an id reads. */
  latest: z.record(z.string(), checkpointIdSchema),
  /** Seconds without a write after which the thread is gone; absent: never. */
  ttl_seconds: z.int().positive().optional(),
  expires_at: z.iso.datetime().optional(),
  /** The key of the thread's entry in the `to/` namespace. */
  order_key: z.string(),
});
export type ThreadRecord = z.infer<typeof threadRecordSchema>;

/** The value of a checkpoint's record in its generation's namespace. */
export const checkpointRecordSchema = z.object({
  checkpoint: z.record(z.string(), jsonSchema),
  metadata: z.record(z.string(), jsonSchema),
  parent_checkpoint_id: checkpointIdSchema.optional(),
});
export type CheckpointRecord = z.infer<typeof checkpointRecordSchema>;

/** The writes of one task to one checkpoint, keyed by their index. */
export const taskWritesRecordSchema = z.object({
  task_id: z.string(),
  task_path: z.string(),
  writes: z.array(z.object({ idx: z.int(), channel: z.string(), value: serializedValueSchema })),
});
export type TaskWritesRecord = z.infer<typeof taskWritesRecordSchema>;

/** An entry of the `to/` namespace. */
export const threadOrderRecordSchema = z.object({ thread_id: z.string() });
