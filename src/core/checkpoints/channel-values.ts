import type { KvOperation, KvStore } from '../../ports/kv-store.ts';
import type { LargeObjectStore } from '../../storage/large-object-store.ts';
import { AppError } from '../errors.ts';
import { transactionBatches } from '../engine/transaction-batches.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { blobKey, channelValueKey } from './checkpoint-keys.ts';
import { serializedValueSchema, type SerializedValue } from './checkpoint-schemas.ts';

/** A channel at a version, as a checkpoint's `channel_versions` names it. */
export interface ChannelAt {
  readonly checkpointNs: string;
  readonly channel: string;
  readonly version: string | number;
}

/**
 * The values of a thread generation's channels: one plain record per channel and
 * version, written once (a version is never reused for another value, see the saver's
 * `getNextVersion`), so a checkpoint stores only the channels it changed and shares the
 * others with its ancestors. Values too large for a record are in the blob store, and
 * the record names the blob.
 */
export interface ChannelValues {
  /** Refuses (`InvalidInput`) values that name a blob not uploaded to this thread. */
  assertUploaded(values: readonly SerializedValue[]): Promise<void>;
  /**
   * The saves of the records, for the caller to send with its commit (`assertUploaded`
   * first). Each is written once per channel and version, so sending one twice, or from
   * a writer whose commit lost, leaves nothing anybody reads wrong.
   */
  saves(namespace: string, values: ReadonlyArray<ChannelAt & { value: SerializedValue }>): KvOperation[];
  /** The values found, by `channelId`. One store call. */
  load(namespace: string, channels: readonly ChannelAt[]): Promise<Map<string, SerializedValue>>;
  /** Deletes the records and their blobs. */
  remove(namespace: string, channels: readonly ChannelAt[]): Promise<void>;
  /** Deletes the blobs that values name. */
  removeBlobs(values: readonly SerializedValue[]): Promise<void>;
}

export function channelValues(
  kv: KvStore,
  blobs: LargeObjectStore,
  owner: { tenant: string; agent: string; thread: string },
): ChannelValues {
  const keyOf = (namespace: string, at: ChannelAt) =>
    channelValueKey(namespace, at.checkpointNs, at.channel, at.version);
  return {
    saves: (namespace, values) =>
      values.map((at) => ({ op: 'save', key: keyOf(namespace, at), value: at.value })),

    assertUploaded: (values) => assertBlobsExist(blobs, owner, values),

    async load(namespace, channels) {
      const found = new Map<string, SerializedValue>();
      if (channels.length === 0) return found;
      const entries = await kv.getBulk(channels.map((at) => keyOf(namespace, at)));
      for (const at of channels) {
        const key = keyOf(namespace, at);
        const entry = entries.get(key);
        if (entry !== undefined) found.set(channelId(at), decodeRecord(serializedValueSchema, entry, key));
      }
      return found;
    },

    async remove(namespace, channels) {
      const values = await this.load(namespace, channels);
      await this.removeBlobs([...values.values()]);
      const operations: KvOperation[] = channels.map((at) => ({ op: 'delete', key: keyOf(namespace, at) }));
      for (const batch of transactionBatches(operations)) await kv.transact(batch);
    },

    async removeBlobs(values) {
      for (const value of values)
        if ('blob' in value) await blobs.delete(blobKey(owner.tenant, owner.agent, owner.thread, value.blob));
    },
  };
}

/** Names a channel at a version in the answers of `load`. */
export function channelId(at: ChannelAt): string {
  return JSON.stringify([at.checkpointNs, at.channel, String(at.version)]);
}

async function assertBlobsExist(
  blobs: LargeObjectStore,
  owner: { tenant: string; agent: string; thread: string },
  values: readonly SerializedValue[],
): Promise<void> {
  for (const value of values) {
    if (!('blob' in value)) continue;
    const manifest = await blobs.stat(blobKey(owner.tenant, owner.agent, owner.thread, value.blob));
    if (manifest === undefined || manifest.size !== value.size_bytes)
      throw new AppError(
        'InvalidInput',
        `blob ${value.blob} of ${value.size_bytes} bytes was not uploaded to this thread`,
      );
  }
}
