import { randomUUID } from 'node:crypto';
import type { SerializerProtocol } from '@langchain/langgraph-checkpoint';
import type { SerializedValue } from '../core/checkpoints/checkpoint-schemas.ts';
import { uploadBlobResultSchema } from '../core/checkpoints/checkpoint-schemas.ts';
import type { ServiceClient } from '../cli/service-client.ts';

/**
 * Values as the service stores them: the serializer's type and bytes, as text for JSON
 * (readable, and a third smaller than base64), uploaded as a blob when larger than
 * `inlineLimitBytes`, so records stay small and any size round-trips.
 */
export interface SerializedValues {
  dump(thread: string, value: unknown): Promise<SerializedValue>;
  load(thread: string, value: SerializedValue): Promise<unknown>;
}

export function serializedValues(
  client: ServiceClient,
  serde: SerializerProtocol,
  inlineLimitBytes: number,
): SerializedValues {
  const blobPath = (thread: string, blob: string) =>
    `/v1/threads/${encodeURIComponent(thread)}/blobs/${blob}`;
  return {
    async dump(thread, value) {
      const [type, bytes] = await serde.dumpsTyped(value);
      if (bytes.byteLength > inlineLimitBytes) {
        const answer = await client.json(uploadBlobResultSchema, 'PUT', blobPath(thread, randomUUID()), {
          stream: {
            body: new Blob([bytes]).stream(),
            length: bytes.byteLength,
            type: 'application/octet-stream',
          },
        });
        return { type, blob: answer.blob, size_bytes: answer.size_bytes };
      }
      return type === 'json'
        ? { type, encoding: 'utf8', data: new TextDecoder().decode(bytes) }
        : { type, encoding: 'base64', data: Buffer.from(bytes).toString('base64') };
    },

    async load(thread, value) {
      if ('blob' in value) {
        const response = await client.request('GET', blobPath(thread, value.blob));
        return (await serde.loadsTyped(value.type, new Uint8Array(await response.arrayBuffer()))) as unknown;
      }
      const data = value.encoding === 'utf8' ? value.data : new Uint8Array(Buffer.from(value.data, 'base64'));
      return (await serde.loadsTyped(value.type, data)) as unknown;
    },
  };
}
