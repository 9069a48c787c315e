import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { bindingAnswered, invokeBinding, type BlobBinding } from './blob-binding.ts';
import { keysAfter, PROBE_PREFIX } from './blob-listing.ts';
import { decodeText, type SidecarClient } from './sidecar-client.ts';

// What bindings.azure.blobstorage does (components-contrib bindings/azure/blobstorage/blobstorage.go):
// - `create` (metadata `blobName`) unquotes the data, then base64-decodes it only when the
//   component sets `decodeBase64: "true"`. Data is always sent as base64, the one text
//   every byte string survives; `init` writes a probe to learn which of the two the
//   container then holds: the bytes (decodeBase64 true) or their base64 text (false),
//   which `get` decodes. The setting is part of the stored format: do not flip it on a
//   container that holds objects.
// - `get` answers the blob's bytes as the HTTP body; a missing blob is a 500 "blob not found".
// - `delete` sends the `x-ms-delete-snapshots` header even when empty, which Azurite
//   refuses with a 400; `deleteSnapshots: include` is valid whether or not the blob has
//   snapshots. A missing blob is a 500 "blob not found".
// - `list` takes `prefix` and `maxResults` and keeps paging until it has that many; its
//   `metadata.marker` answer cannot continue a listing (see blob-listing.ts), so each
//   page is a scan from the start of the prefix, sized from the cursor's count: a page
//   deep into a large prefix costs the keys before it.

const PROBE_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const createAnswer = z.object({ blobURL: z.string() });
const listAnswer = z.array(z.object({ Name: z.string() })).nullable();
const BLOB_NOT_FOUND = /blob not found/;
// Room for keys written between the page before and this one.
const SCAN_SLACK = 32;
const MAX_SCAN = 2_147_483_647;

type StoredAs = 'bytes' | 'base64';

/** Learns how the container stores data (and whether it is Azurite) with a probe; answers the binding. */
export async function openAzureBlobBinding(
  sidecar: SidecarClient,
  bindingName: string,
): Promise<BlobBinding> {
  const invoke = (request: Parameters<typeof invokeBinding>[2]) =>
    invokeBinding(sidecar, bindingName, request);
  const { storedAs, azurite } = await probe(invoke, bindingName);

  return {
    // Azurite's well-known account tells the emulator from the service.
    name: azurite ? 'dapr-azurite' : 'dapr-azure-blob',

    async put(key, data) {
      await invoke({
        operation: 'create',
        // A view: `Buffer.from(data)` would copy a whole part only to encode it.
        data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
        metadata: { blobName: key },
      });
    },

    async get(key) {
      let body: Uint8Array;
      try {
        body = (await invoke({ operation: 'get', metadata: { blobName: key } })).body;
      } catch (error) {
        if (bindingAnswered(error, key, BLOB_NOT_FOUND)) return undefined;
        throw error;
      }
      return storedAs === 'bytes' ? body : decodeStoredBase64(body, key, bindingName);
    },

    async delete(key) {
      try {
        await invoke({ operation: 'delete', metadata: { blobName: key, deleteSnapshots: 'include' } });
        return true;
      } catch (error) {
        if (bindingAnswered(error, key, BLOB_NOT_FOUND)) return false;
        throw error;
      }
    },

    async scan(prefix, after, want, seen) {
      let size = Math.min(seen + want + SCAN_SLACK, MAX_SCAN);
      for (;;) {
        const response = await invoke({ operation: 'list', data: { prefix, maxResults: size } });
        const names = (listAnswer.parse(JSON.parse(decodeText(response.body))) ?? []).map(
          (item) => item.Name,
        );
        const found = keysAfter(names, prefix, after);
        // Fewer names than asked for: the binding reached the end of the prefix.
        if (found.keys.length >= want || names.length < size || size === MAX_SCAN) return found;
        size = Math.min(size * 2, MAX_SCAN);
      }
    },
  };
}

async function probe(
  invoke: (request: Parameters<typeof invokeBinding>[2]) => ReturnType<typeof invokeBinding>,
  bindingName: string,
): Promise<{ storedAs: StoredAs; azurite: boolean }> {
  const key = `${PROBE_PREFIX}${randomUUID()}`;
  const sent = Buffer.from(PROBE_BYTES).toString('base64');
  const created = await invoke({ operation: 'create', data: sent, metadata: { blobName: key } });
  try {
    const { blobURL } = createAnswer.parse(JSON.parse(decodeText(created.body)));
    const azurite = new URL(blobURL).pathname.startsWith('/devstoreaccount1/');
    const read = Buffer.from((await invoke({ operation: 'get', metadata: { blobName: key } })).body);
    if (read.equals(PROBE_BYTES)) return { storedAs: 'bytes', azurite };
    if (read.toString('latin1') === sent) return { storedAs: 'base64', azurite };
    throw new AppError(
      'IoError',
      `blob binding ${JSON.stringify(bindingName)} does not store bytes as written`,
    );
  } finally {
    await invoke({ operation: 'delete', metadata: { blobName: key, deleteSnapshots: 'include' } }).catch(
      () => undefined,
    );
  }
}

function decodeStoredBase64(body: Uint8Array, key: string, bindingName: string): Uint8Array {
  const text = Buffer.from(body).toString('latin1');
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from(…, 'base64') skips what is not base64; a blob that does not re-encode to
  // itself was not written by this adapter.
  if (bytes.toString('base64') !== text) {
    throw new AppError(
      'IoError',
      `blob ${JSON.stringify(key)} in binding ${JSON.stringify(bindingName)} is not base64 text; it was not written by agentstate`,
    );
  }
  return bytes;
}
