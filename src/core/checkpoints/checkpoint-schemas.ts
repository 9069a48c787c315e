import { z } from 'zod';
import { jsonSchema } from '../json.ts';

/**
 * A checkpoint id: what LangGraph makes (uuid6) and any id of up to 128 printable ASCII
 * characters other than space, `~` and `/`, which sort by code point like LangGraph compares them.
 */
export const checkpointIdSchema = z
  .string()
  .regex(
    /^[!-.0-}]{1,128}$/,
    'a checkpoint id is 1 to 128 printable ASCII characters without space, "/" or "~"',
  );
/** A checkpoint namespace: `''` for the root graph, `parent:id|child:id` for subgraphs. */
export const checkpointNamespaceSchema = z.string().max(256);
export const threadIdSchema = z.string().min(1).max(256);
export const taskIdSchema = z.string().min(1).max(256);

/**
 * A value as the saver's serializer wrote it: its type tag and bytes, the bytes as UTF-8
 * text (`utf8`, the JSON serializer's output) or base64; or, for a value too large for a
 * record, the blob it was uploaded to (`PUT /v1/threads/{thread}/blobs/{blob}`).
 */
export const serializedValueSchema = z.union([
  z.strictObject({
    type: z.string().min(1).max(64),
    encoding: z.enum(['utf8', 'base64']),
    data: z.string(),
  }),
  z.strictObject({
    type: z.string().min(1).max(64),
    blob: z.uuid(),
    size_bytes: z.int().nonnegative(),
  }),
]);
export type SerializedValue = z.infer<typeof serializedValueSchema>;

const channelVersionSchema = z.union([z.string().min(1).max(128), z.number()]);

export const putCheckpointInputSchema = z.strictObject({
  checkpoint_ns: checkpointNamespaceSchema.default(''),
  /** The checkpoint this one follows, if any. */
  parent_checkpoint_id: checkpointIdSchema.exactOptional(),
  /** The checkpoint without `channel_values`: `id`, `v`, `ts`, `channel_versions`, ... */
  checkpoint: z.looseObject({
    id: checkpointIdSchema,
    channel_versions: z.record(z.string(), channelVersionSchema),
  }),
  metadata: z.record(z.string(), jsonSchema),
  /** The values of the channels this checkpoint changed, at their new versions. */
  new_channel_values: z
    .array(
      z.strictObject({
        channel: z.string().min(1).max(256),
        version: channelVersionSchema,
        value: serializedValueSchema,
      }),
    )
    .default([]),
  /** Seconds the thread lives after its last write; 0 for ever. @default the configured default */
  ttl_seconds: z.int().min(0).exactOptional(),
});
export type PutCheckpointInput = z.infer<typeof putCheckpointInputSchema>;

export const putWritesInputSchema = z.strictObject({
  checkpoint_ns: checkpointNamespaceSchema.default(''),
  checkpoint_id: checkpointIdSchema,
  task_id: taskIdSchema,
  task_path: z.string().max(1024).default(''),
  writes: z
    .array(
      z.strictObject({ idx: z.int(), channel: z.string().min(1).max(256), value: serializedValueSchema }),
    )
    .min(1)
    .max(1000),
});
export type PutWritesInput = z.infer<typeof putWritesInputSchema>;

export const checkpointRefSchema = z.object({
  thread_id: threadIdSchema,
  checkpoint_ns: z.string(),
  checkpoint_id: checkpointIdSchema,
});

export const pendingWriteSchema = z.object({
  task_id: z.string(),
  task_path: z.string(),
  idx: z.int(),
  channel: z.string(),
  value: serializedValueSchema,
});

/** One checkpoint with everything a saver's tuple needs. */
export const checkpointTupleSchema = z.object({
  config: checkpointRefSchema,
  parent_checkpoint_id: checkpointIdSchema.optional(),
  checkpoint: z.record(z.string(), jsonSchema),
  metadata: z.record(z.string(), jsonSchema),
  /** The values of the checkpoint's channels that have one, by channel. */
  channel_values: z.record(z.string(), serializedValueSchema),
  /** In the order LangGraph applies them: task path, task id, index. */
  pending_writes: z.array(pendingWriteSchema),
});
export type CheckpointTuple = z.infer<typeof checkpointTupleSchema>;

export const checkpointPageSchema = z.object({
  checkpoints: z.array(checkpointTupleSchema),
  /** Present when more checkpoints may follow: pass it as `cursor`. */
  cursor: z.string().optional(),
});
export type CheckpointPage = z.infer<typeof checkpointPageSchema>;

export const getCheckpointQuerySchema = z.strictObject({
  checkpoint_ns: checkpointNamespaceSchema.default(''),
  checkpoint_id: checkpointIdSchema.exactOptional(),
  /** Whether reading restarts the thread's TTL. */
  refresh_ttl: z.enum(['true', 'false']).exactOptional(),
});

export const listCheckpointsQuerySchema = z.strictObject({
  /** Only this namespace; every namespace without it. */
  checkpoint_ns: checkpointNamespaceSchema.exactOptional(),
  /** Only checkpoints whose id sorts before this one. */
  before: checkpointIdSchema.exactOptional(),
  /** A JSON object: only checkpoints whose metadata has these top-level values. */
  filter: z.string().max(8192).exactOptional(),
  limit: z.int().min(1).max(100).default(20),
  cursor: z.string().max(2048).exactOptional(),
});

export const threadInfoSchema = z.object({
  thread_id: threadIdSchema,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  /** When the thread expires unless written (or read with `refresh_ttl`) again. */
  expires_at: z.iso.datetime().optional(),
});
export type ThreadInfo = z.infer<typeof threadInfoSchema>;

export const threadPageSchema = z.object({
  threads: z.array(threadInfoSchema),
  cursor: z.string().optional(),
});
export type ThreadPage = z.infer<typeof threadPageSchema>;

export const listThreadsQuerySchema = z.strictObject({
  limit: z.int().min(1).max(1000).default(100),
  cursor: z.string().max(2048).exactOptional(),
});

export const copyThreadInputSchema = z.strictObject({ target_thread_id: threadIdSchema });
export const copyThreadResultSchema = z.object({
  thread_id: threadIdSchema,
  checkpoints: z.int().nonnegative(),
});
export const deleteThreadResultSchema = z.object({ deleted: z.boolean() });
export const putCheckpointResultSchema = checkpointRefSchema;
export const putWritesResultSchema = z.object({ stored: z.int().nonnegative() });
export const uploadBlobResultSchema = z.object({ blob: z.uuid(), size_bytes: z.int().nonnegative() });
