import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  copyCheckpoint,
  maxChannelVersion,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import type { ServiceClient } from '../cli/service-client.ts';
import {
  checkpointPageSchema,
  checkpointTupleSchema,
  deleteThreadResultSchema,
  putCheckpointResultSchema,
  putWritesResultSchema,
  threadPageSchema,
  type CheckpointTuple as StoredTuple,
  type PutCheckpointInput,
} from '../core/checkpoints/checkpoint-schemas.ts';
import { isAppError } from '../core/errors.ts';
import type { Json } from '../core/json.ts';
import { serializedValues, type SerializedValues } from './serialized-values.ts';
import { connectToAgentState, type AgentStateConnectionOptions } from './service-connection.ts';

export interface AgentStateSaverOptions extends AgentStateConnectionOptions {
  /** Seconds a thread lives after its last write; 0 for ever. @default the service's default */
  readonly ttlSeconds?: number;
  /** Whether reading a checkpoint restarts its thread's TTL. @default false */
  readonly refreshTtlOnRead?: boolean;
  /** Values whose serialized bytes exceed this are uploaded as blobs. @default 256 KiB */
  readonly inlineLimitBytes?: number;
  /** Checkpoints fetched per request when listing. @default 20 */
  readonly pageSize?: number;
  readonly serde?: SerializerProtocol;
}

/**
 * A LangGraph.js checkpointer on agentstate (README, "LangGraph"): checkpoints, pending
 * writes and thread deletion through the service's `/v1/threads` API, directly or
 * through the local Dapr sidecar. A checkpoint sends only the channels it changed;
 * values larger than `inlineLimitBytes` go to the blob store.
 */
export class AgentStateSaver extends BaseCheckpointSaver {
  private readonly client: ServiceClient;
  private readonly values: SerializedValues;
  private readonly ttlSeconds: number | undefined;
  private readonly refreshTtlOnRead: boolean;
  private readonly pageSize: number;

  constructor(options: AgentStateSaverOptions = {}) {
    super(options.serde);
    this.client = connectToAgentState(options);
    this.values = serializedValues(this.client, this.serde, options.inlineLimitBytes ?? 256 * 1024);
    this.ttlSeconds = options.ttlSeconds;
    this.refreshTtlOnRead = options.refreshTtlOnRead ?? false;
    this.pageSize = options.pageSize ?? 20;
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const thread = config.configurable?.['thread_id'] as unknown;
    if (typeof thread !== 'string' || thread === '') return undefined;
    const checkpointId = config.configurable?.['checkpoint_id'] as string | undefined;
    let stored: StoredTuple;
    try {
      stored = await this.client.json(checkpointTupleSchema, 'GET', `${threadPath(thread)}/checkpoint`, {
        query: {
          checkpoint_ns: namespaceOf(config),
          checkpoint_id: checkpointId === '' ? undefined : checkpointId,
          refresh_ttl: this.refreshTtlOnRead ? 'true' : undefined,
        },
      });
    } catch (error) {
      if (isAppError(error, 'KeyNotFound')) return undefined;
      throw error;
    }
    return this.tupleOf(stored);
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { filter, before } = options;
    let remaining = options.limit ?? Infinity;
    const wantedId = config.configurable?.['checkpoint_id'] as string | undefined;
    const thread = config.configurable?.['thread_id'] as string | undefined;
    const threads = thread === undefined ? this.threads() : single(thread);
    for await (const id of threads) {
      let cursor: string | undefined;
      do {
        const page = await this.client.json(checkpointPageSchema, 'GET', `${threadPath(id)}/checkpoints`, {
          query: {
            checkpoint_ns: config.configurable?.['checkpoint_ns'] as string | undefined,
            before: before?.configurable?.['checkpoint_id'] as string | undefined,
            filter: filter === undefined ? undefined : JSON.stringify(filter),
            limit: Math.min(this.pageSize, remaining),
            cursor,
          },
        });
        for (const stored of page.checkpoints) {
          if (wantedId !== undefined && wantedId !== '' && stored.config.checkpoint_id !== wantedId) continue;
          if (remaining <= 0) return;
          remaining -= 1;
          yield await this.tupleOf(stored);
        }
        cursor = page.cursor;
      } while (cursor !== undefined && remaining > 0);
      if (remaining <= 0) return;
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const thread = threadOf(config, 'put');
    const { channel_values: channelValues, ...rest } = copyCheckpoint(checkpoint);
    const changed = Object.keys(newVersions).filter((channel) => channel in channelValues);
    const input: PutCheckpointInput = {
      checkpoint_ns: namespaceOf(config),
      checkpoint: (await this.asJson(rest)) as PutCheckpointInput['checkpoint'],
      metadata: (await this.asJson(metadata)) as Record<string, Json>,
      new_channel_values: await Promise.all(
        changed.map(async (channel) => ({
          channel,
          version: newVersions[channel] as string | number,
          value: await this.values.dump(thread, channelValues[channel]),
        })),
      ),
      ...(typeof config.configurable?.['checkpoint_id'] === 'string' &&
      config.configurable['checkpoint_id'] !== ''
        ? { parent_checkpoint_id: config.configurable['checkpoint_id'] }
        : {}),
      ...(this.ttlSeconds === undefined ? {} : { ttl_seconds: this.ttlSeconds }),
    };
    const ref = await this.client.json(
      putCheckpointResultSchema,
      'PUT',
      `${threadPath(thread)}/checkpoints`,
      {
        json: input,
      },
    );
    return { configurable: { ...ref } };
  }

  async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath?: string,
  ): Promise<void> {
    const thread = threadOf(config, 'putWrites');
    const checkpointId = config.configurable?.['checkpoint_id'] as string | undefined;
    if (checkpointId === undefined || checkpointId === '')
      throw new Error('putWrites needs config.configurable.checkpoint_id');
    if (writes.length === 0) return;
    await this.client.json(putWritesResultSchema, 'POST', `${threadPath(thread)}/writes`, {
      json: {
        checkpoint_ns: namespaceOf(config),
        checkpoint_id: checkpointId,
        task_id: taskId,
        task_path: taskPath ?? '',
        writes: await Promise.all(
          writes.map(async ([channel, value], index) => ({
            idx: WRITES_IDX_MAP[channel] ?? index,
            channel,
            value: await this.values.dump(thread, value),
          })),
        ),
      },
    });
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.client.json(deleteThreadResultSchema, 'DELETE', threadPath(threadId));
  }

  /**
   * The next integer plus a random fraction: above `current` like LangGraph's own
   * versions, and unique to each write, so a channel's value at a version is written
   * once even when two forks of a thread both advance it.
   */
  override getNextVersion(current: number | undefined): number {
    return Math.floor(current ?? 0) + 1 + Math.random() / 2;
  }

  private async *threads(): AsyncGenerator<string> {
    let cursor: string | undefined;
    do {
      const page = await this.client.json(threadPageSchema, 'GET', '/v1/threads', {
        query: { limit: 100, cursor },
      });
      for (const thread of page.threads) yield thread.thread_id;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  private async asJson(value: unknown): Promise<Json> {
    const [, bytes] = await this.serde.dumpsTyped(value);
    return JSON.parse(new TextDecoder().decode(bytes)) as Json;
  }

  private async fromJson(value: Json): Promise<unknown> {
    return this.serde.loadsTyped('json', JSON.stringify(value));
  }

  private async tupleOf(stored: StoredTuple): Promise<CheckpointTuple> {
    const thread = stored.config.thread_id;
    const { checkpoint_ns, checkpoint_id } = stored.config;
    const channelValues = Object.fromEntries(
      await Promise.all(
        Object.entries(stored.channel_values).map(async ([channel, value]) => [
          channel,
          await this.values.load(thread, value),
        ]),
      ),
    ) as Record<string, unknown>;
    const checkpoint = {
      ...((await this.fromJson(stored.checkpoint)) as Checkpoint),
      channel_values: channelValues,
    };
    const parent = stored.parent_checkpoint_id;
    if (checkpoint.v < 4 && parent !== undefined)
      await this.migratePendingSends(checkpoint, thread, checkpoint_ns, parent);
    return {
      config: { configurable: { thread_id: thread, checkpoint_ns, checkpoint_id } },
      checkpoint,
      metadata: (await this.fromJson(stored.metadata)) as CheckpointMetadata,
      pendingWrites: await Promise.all(
        stored.pending_writes.map(async (write): Promise<[string, string, unknown]> => [
          write.task_id,
          write.channel,
          await this.values.load(thread, write.value),
        ]),
      ),
      ...(parent === undefined
        ? {}
        : { parentConfig: { configurable: { thread_id: thread, checkpoint_ns, checkpoint_id: parent } } }),
    };
  }

  /** Checkpoints before format 4 kept pending sends as the parent's TASKS writes. */
  private async migratePendingSends(
    checkpoint: Checkpoint,
    thread: string,
    checkpointNs: string,
    parentId: string,
  ) {
    const parent = await this.getTuple({
      configurable: { thread_id: thread, checkpoint_ns: checkpointNs, checkpoint_id: parentId },
    });
    const sends = (parent?.pendingWrites ?? [])
      .filter(([, channel]) => channel === TASKS)
      .map(([, , value]) => value);
    checkpoint.channel_values[TASKS] = sends;
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] =
      versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }
}

function threadOf(config: RunnableConfig, what: string): string {
  const thread = config.configurable?.['thread_id'] as unknown;
  if (typeof thread !== 'string' || thread === '')
    throw new Error(`${what} needs config.configurable.thread_id, the thread the checkpoints belong to`);
  return thread;
}

function namespaceOf(config: RunnableConfig): string {
  return (config.configurable?.['checkpoint_ns'] as string | undefined) ?? '';
}

function threadPath(thread: string): string {
  return `/v1/threads/${encodeURIComponent(thread)}`;
}

async function* single(thread: string): AsyncGenerator<string> {
  yield thread;
}
