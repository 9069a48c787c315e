import { isLive, type Head } from '../engine/head-record.ts';
import type { VersionedRecords } from '../engine/versioned-records.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { channelId, type ChannelAt, type ChannelValues } from './channel-values.ts';
import { parseCheckpointKey, writesPrefix } from './checkpoint-keys.ts';
import {
  checkpointRecordSchema,
  taskWritesRecordSchema,
  type CheckpointRecord,
} from './checkpoint-records.ts';
import type { CheckpointTuple } from './checkpoint-schemas.ts';

// Writes of one checkpoint read in one index page: LangGraph writes a few per task.
const WRITES_PER_CHECKPOINT = 1000;

export function decodeCheckpoint(records: VersionedRecords, head: Head): CheckpointRecord {
  return decodeRecord(checkpointRecordSchema, { value: head.value, etag: '' }, records.keys.head(head.key));
}

/** The channels at the versions a checkpoint names. */
export function channelsOf(checkpointNs: string, record: CheckpointRecord): ChannelAt[] {
  const versions = (record.checkpoint['channel_versions'] ?? {}) as Record<string, string | number>;
  return Object.entries(versions).map(([channel, version]) => ({ checkpointNs, channel, version }));
}

/**
 * The tuples of checkpoint heads: their channel values (one store call for all) and
 * pending writes (an index page per checkpoint, read side by side).
 */
export async function assembleTuples(
  records: VersionedRecords,
  values: ChannelValues,
  thread: string,
  heads: readonly Head[],
): Promise<CheckpointTuple[]> {
  const checkpoints = heads.map((head) => ({
    ...parseCheckpointKey(head.key),
    record: decodeCheckpoint(records, head),
  }));
  const wanted = checkpoints.flatMap(({ checkpointNs, record }) => channelsOf(checkpointNs, record));
  const unique = [...new Map(wanted.map((at) => [channelId(at), at])).values()];
  // Values and writes are independent reads: side by side, one round trip less to wait.
  const [loaded, writes] = await Promise.all([
    values.load(records.keys.namespace, unique),
    Promise.all(
      checkpoints.map(({ checkpointNs, checkpointId }) => pendingWrites(records, checkpointNs, checkpointId)),
    ),
  ]);
  return checkpoints.map(({ checkpointNs, checkpointId, record }, position) => ({
    config: { thread_id: thread, checkpoint_ns: checkpointNs, checkpoint_id: checkpointId },
    ...(record.parent_checkpoint_id === undefined
      ? {}
      : { parent_checkpoint_id: record.parent_checkpoint_id }),
    checkpoint: record.checkpoint,
    metadata: record.metadata,
    channel_values: Object.fromEntries(
      channelsOf(checkpointNs, record).flatMap((at) => {
        const value = loaded.get(channelId(at));
        return value === undefined ? [] : [[at.channel, value]];
      }),
    ),
    pending_writes: writes[position] ?? [],
  }));
}

/** A checkpoint's pending writes in LangGraph's order: task path, task id, index. */
export async function pendingWrites(records: VersionedRecords, checkpointNs: string, checkpointId: string) {
  const page = await records.list({
    prefix: writesPrefix(checkpointNs, checkpointId),
    limit: WRITES_PER_CHECKPOINT,
  });
  const tasks = page.heads
    .filter(isLive)
    .map((head) =>
      decodeRecord(taskWritesRecordSchema, { value: head.value, etag: '' }, records.keys.head(head.key)),
    );
  const writes = tasks.flatMap((task) =>
    task.writes.map((write) => ({ ...write, task_id: task.task_id, task_path: task.task_path })),
  );
  writes.sort(
    (a, b) =>
      compareCodePoints(a.task_path, b.task_path) || compareCodePoints(a.task_id, b.task_id) || a.idx - b.idx,
  );
  return writes;
}

/** Strings by code point, as LangGraph's `compareWritesSortKeys` orders them. */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = (left[i] as string).codePointAt(0)! - (right[i] as string).codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
