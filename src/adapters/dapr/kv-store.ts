import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { parsedJsonSchema, type Json } from '../../core/json.ts';
import { DEFAULT_MAX_VALUE_BYTES } from '../../ports/limits.ts';
import type { KvEntry, KvOperation, KvStore, KvStoreTraits, SaveOptions } from '../../ports/kv-store.ts';
import { assertValidKvKey, assertValidTtl, assertValueFits } from '../../ports/kv-validation.ts';
import { jsonEqual, planDelete, planSave, SUPERSEDED_ETAG, type StateStoreFlavour } from './kv-write-plan.ts';
import {
  decodeText,
  findComponent,
  SidecarError,
  type SidecarClient,
  type SidecarRequest,
} from './sidecar-client.ts';
import { translateStateError } from './translate-error.ts';

export interface DaprKvStoreOptions {
  readonly sidecar: SidecarClient;
  /** The state store component's name. */
  readonly storeName: string;
  /** @default DEFAULT_MAX_VALUE_BYTES (daprd's default 4 MiB request less 16 KiB) */
  readonly maxValueBytes?: number;
}

// Traits per store, each checked against the real store by kvStoreConformance:
// - Redis runs a transaction as MULTI/EXEC of Lua scripts; a script that fails its ETag
//   check does not stop the others, and nothing is rolled back.
// - Redis' set script writes a missing key whatever ETag the request carries; PostgreSQL
//   updates only an existing row with that ETag.
const TRAITS: Record<StateStoreFlavour, KvStoreTraits> = {
  redis: { name: 'dapr-redis', atomicTransactions: false, casOnMissingKey: 'inserts' },
  postgresql: { name: 'dapr-postgresql', atomicTransactions: true, casOnMissingKey: 'conflicts' },
};

const UNINITIALISED_TRAITS: KvStoreTraits = {
  name: 'dapr',
  atomicTransactions: false,
  casOnMissingKey: 'inserts',
};

// `state.postgres` is the alias daprd registers for the same component (deploy/daprd/components.go).
const FLAVOUR_OF_TYPE: Readonly<Record<string, StateStoreFlavour>> = {
  'state.redis': 'redis',
  'state.postgresql': 'postgresql',
  'state.postgres': 'postgresql',
};

// One item of `POST /v1.0/state/{store}/bulk` (pkg/api/http/http.go onBulkGetState): a
// missing key has neither data nor ETag; a store error for one key comes as `error`
// with HTTP 200 (Redis does this when it is down).
const bulkItems = z.array(
  z.object({
    key: z.string(),
    data: parsedJsonSchema.optional(),
    etag: z.string().optional(),
    error: z.string().optional(),
  }),
);

// Keys go in the request body, so one bulk request is bounded by the body limit, not
// by a count; this leaves room below daprd's 4 MiB.
const BULK_BODY_BYTES = 1024 * 1024;

/**
 * A `KvStore` on a Dapr state store (`state.redis` or `state.postgresql` v1/v2), through
 * the sidecar's HTTP API. How each write is sent per store is in `kv-write-plan.ts`.
 *
 * Keys never go into a URL: reads use the bulk endpoint and deletes a one-operation
 * transaction, so any key the port allows (`/`, `%2F`, `..`, `?`, 4096 bytes) reaches
 * the store unchanged (a key that is `.` or `..` cannot be a URL path segment at all).
 *
 * A save answers its new ETag. daprd's save API answers none, so where the ETag cannot be
 * derived (see `kv-write-plan.ts`) the key is read back; if another write replaced the
 * value in between, or the read fails, the answer is `SUPERSEDED_ETAG`, which matches
 * nothing, so the caller's next CAS fails and it re-reads.
 *
 * Redis' missing-key behaviour adds one case the port's note on ETag reuse covers: a CAS
 * with ETag n on a key deleted since it was read re-creates it with version 1, while the
 * answer is n + 1, which the key reaches only after n further writes.
 */
export function createDaprKvStore(options: DaprKvStoreOptions): KvStore {
  const { sidecar, storeName, maxValueBytes = DEFAULT_MAX_VALUE_BYTES } = options;
  const statePath = `/state/${encodeURIComponent(storeName)}`;
  let flavour: StateStoreFlavour | undefined;
  let closed = false;

  function current(): StateStoreFlavour {
    if (closed) throw new AppError('Unavailable', `state store ${JSON.stringify(storeName)} is closed`);
    if (flavour === undefined)
      throw new AppError(
        'DatabaseError',
        `state store ${JSON.stringify(storeName)} is not initialised: call init() first`,
      );
    return flavour;
  }

  async function call(operation: string, keys: readonly string[], request: SidecarRequest) {
    try {
      return await sidecar.request(request);
    } catch (error) {
      translateStateError(error, { operation, store: storeName, keys });
    }
  }

  async function readEntries(keys: readonly string[]): Promise<Map<string, KvEntry>> {
    const found = new Map<string, KvEntry>();
    for (const chunk of chunkByBodySize([...new Set(keys)])) {
      const response = await call('bulk get', chunk, {
        method: 'POST',
        path: `${statePath}/bulk`,
        json: { keys: chunk },
      });
      let items: z.infer<typeof bulkItems>;
      try {
        items = bulkItems.parse(JSON.parse(decodeText(response.body)));
      } catch (error) {
        throw new AppError(
          'DatabaseError',
          `state store ${JSON.stringify(storeName)} answered a bulk get that is not JSON values`,
          { cause: error },
        );
      }
      for (const item of items) {
        if (item.error !== undefined) {
          translateStateError(
            new SidecarError('http', item.error, {
              status: response.status,
              errorCode: 'ERR_STATE_BULK_GET',
            }),
            {
              operation: 'bulk get',
              store: storeName,
              keys: chunk,
            },
          );
        }
        if (item.etag !== undefined) found.set(item.key, { value: item.data ?? null, etag: item.etag });
      }
    }
    return found;
  }

  function prepareSave(key: string, value: Json, saveOptions: SaveOptions | undefined) {
    assertValidKvKey(key);
    assertValueFits(key, value, maxValueBytes);
    assertValidTtl(saveOptions?.ttlSeconds);
    return planSave(current(), key, value, saveOptions);
  }

  return {
    // Known once init() has read the component's type; until then, the weaker promises.
    get traits(): KvStoreTraits {
      return flavour === undefined ? UNINITIALISED_TRAITS : TRAITS[flavour];
    },
    limits: { maxValueBytes },

    async init() {
      let component;
      try {
        component = await findComponent(sidecar, storeName);
      } catch (error) {
        translateStateError(error, { operation: 'init', store: storeName });
      }
      if (component === undefined) {
        throw new AppError(
          'Unavailable',
          `the Dapr sidecar has no state store named ${JSON.stringify(storeName)}`,
        );
      }
      const found = FLAVOUR_OF_TYPE[component.type];
      if (found === undefined) {
        throw new AppError(
          'DatabaseError',
          `Dapr component ${JSON.stringify(storeName)} is a ${component.type}; agentstate needs state.redis or state.postgresql`,
        );
      }
      flavour = found;
      closed = false;
      // Proves the store itself answers, not only the sidecar.
      await readEntries(['agentstate/init-probe']);
    },

    async close() {
      closed = true;
    },

    async get(key) {
      assertValidKvKey(key);
      current();
      return (await readEntries([key])).get(key);
    },

    async getBulk(keys) {
      keys.forEach(assertValidKvKey);
      current();
      if (keys.length === 0) return new Map();
      return readEntries(keys);
    },

    async save(key, value, saveOptions) {
      const plan = prepareSave(key, value, saveOptions);
      await call('save', [key], { method: 'POST', path: statePath, json: [plan.item] });
      if (plan.newEtag !== undefined) return plan.newEtag;
      try {
        const entry = (await readEntries([key])).get(key);
        return entry !== undefined && jsonEqual(entry.value, value) ? entry.etag : SUPERSEDED_ETAG;
      } catch {
        // The write happened; only its ETag is unknown.
        return SUPERSEDED_ETAG;
      }
    },

    async delete(key, deleteOptions) {
      assertValidKvKey(key);
      const operation = { operation: 'delete', request: planDelete(current(), key, deleteOptions) };
      await call('delete', [key], {
        method: 'POST',
        path: `${statePath}/transaction`,
        json: { operations: [operation] },
      });
    },

    async transact(operations) {
      // Every operation is checked before anything is sent, so a bad key or an
      // oversized value in the last one writes nothing.
      const body = operations.map((operation) => toTransactionOperation(operation));
      if (body.length === 0) return;
      const keys = operations.map((operation) => operation.key);
      await call('transaction', keys, {
        method: 'POST',
        path: `${statePath}/transaction`,
        json: { operations: body },
      });
    },
  };

  function toTransactionOperation(operation: KvOperation) {
    switch (operation.op) {
      case 'save':
        return {
          operation: 'upsert',
          request: prepareSave(operation.key, operation.value, operation.options).item,
        };
      case 'delete':
        assertValidKvKey(operation.key);
        return { operation: 'delete', request: planDelete(current(), operation.key, operation.options) };
    }
  }
}

function* chunkByBodySize(keys: readonly string[]): Generator<string[]> {
  let chunk: string[] = [];
  let bytes = 0;
  for (const key of keys) {
    const size = Buffer.byteLength(JSON.stringify(key)) + 1;
    if (chunk.length > 0 && bytes + size > BULK_BODY_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(key);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
