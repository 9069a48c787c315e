import { DEFAULT_MAX_OBJECT_BYTES } from '../../ports/limits.ts';
import { AppError } from '../../core/errors.ts';
import {
  assertObjectFits,
  assertValidBlobKey,
  assertValidBlobPrefix,
  listLimit,
} from '../../ports/blob-validation.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import { openAzureBlobBinding } from './azure-blob-binding.ts';
import type { BlobBinding } from './blob-binding.ts';
import { decodeCursor, encodeCursor } from './blob-listing.ts';
import { openLocalStorageBinding } from './localstorage-binding.ts';
import { findComponent, type SidecarClient } from './sidecar-client.ts';
import { translateBindingError } from './translate-error.ts';

export interface DaprBlobStoreOptions {
  readonly sidecar: SidecarClient;
  /** The output binding component's name. */
  readonly bindingName: string;
  /** @default DEFAULT_MAX_OBJECT_BYTES */
  readonly maxObjectBytes?: number;
}

const OPENERS: Readonly<
  Record<string, (sidecar: SidecarClient, bindingName: string) => Promise<BlobBinding>>
> = {
  'bindings.localstorage': openLocalStorageBinding,
  'bindings.azure.blobstorage': openAzureBlobBinding,
};

/**
 * A `BlobStore` on a Dapr output binding: `bindings.localstorage` (name
 * `dapr-localstorage`) or `bindings.azure.blobstorage` (`dapr-azurite` against Azurite,
 * else `dapr-azure-blob`). `init()` reads the binding's type from the sidecar's metadata
 * and writes, reads and deletes one probe object (under `.agentstate-probe/`, which
 * listings leave out) to learn what the binding does with data. Binding calls go through
 * the sidecar's HTTP API, not the SDK, whose `binding.send` reads bodies as text.
 */
export function createDaprBlobStore(options: DaprBlobStoreOptions): BlobStore {
  const { sidecar, bindingName, maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES } = options;
  let binding: BlobBinding | undefined;
  let closed = false;

  function opened(): BlobBinding {
    if (closed) throw new AppError('Unavailable', `blob binding ${JSON.stringify(bindingName)} is closed`);
    if (binding === undefined)
      throw new AppError(
        'IoError',
        `blob binding ${JSON.stringify(bindingName)} is not initialised: call init() first`,
      );
    return binding;
  }

  async function run<T>(
    operation: string,
    key: string | undefined,
    work: (binding: BlobBinding) => Promise<T>,
  ): Promise<T> {
    const open = opened();
    try {
      return await work(open);
    } catch (error) {
      translateBindingError(error, {
        operation,
        binding: bindingName,
        ...(key === undefined ? {} : { key }),
      });
    }
  }

  return {
    get name() {
      return binding?.name ?? 'dapr-blob';
    },
    limits: { maxObjectBytes },

    async init() {
      try {
        const component = await findComponent(sidecar, bindingName);
        if (component === undefined) {
          throw new AppError(
            'Unavailable',
            `the Dapr sidecar has no binding named ${JSON.stringify(bindingName)}`,
          );
        }
        const open = OPENERS[component.type];
        if (open === undefined) {
          throw new AppError(
            'IoError',
            `Dapr component ${JSON.stringify(bindingName)} is a ${component.type}; agentstate needs bindings.localstorage or bindings.azure.blobstorage`,
          );
        }
        binding = await open(sidecar, bindingName);
        closed = false;
      } catch (error) {
        translateBindingError(error, { operation: 'init', binding: bindingName });
      }
    },

    async close() {
      closed = true;
    },

    async put(key, data) {
      assertValidBlobKey(key);
      assertObjectFits(data, maxObjectBytes);
      await run('put', key, (open) => open.put(key, data));
    },

    async get(key) {
      assertValidBlobKey(key);
      return run('get', key, (open) => open.get(key));
    },

    async delete(key) {
      assertValidBlobKey(key);
      return run('delete', key, (open) => open.delete(key));
    },

    async list(prefix, page = {}) {
      assertValidBlobPrefix(prefix);
      const limit = listLimit(page);
      const position = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
      const found = await run('list', undefined, (open) =>
        open.scan(prefix, position?.after, limit + 1, position?.seen ?? 0),
      );
      const keys = found.keys.slice(0, limit);
      const last = keys.at(-1);
      if (found.keys.length <= limit || last === undefined) return { keys };
      return { keys, cursor: encodeCursor({ after: last, seen: found.before + keys.length }) };
    },
  };
}
