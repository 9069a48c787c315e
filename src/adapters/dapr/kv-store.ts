import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { parsedJsonSchema, type Json } from '../../core/json.ts';
import { DEFAULT_MAX_VALUE_BYTES } from '../../ports/limits.ts';
import type { KvEntry, KvOperation, KvStore, KvStoreTraits, SaveOptions } from '../../ports/kv-store.ts';
import { assertValidKvKey, assertValidTtl, assertValueFits } from '../../ports/kv-validation.ts';
import {
  jsonEqual,
  planDelete,
  planSave,
  SUPERSEDED_ETAG,
  type StateDeleteItem,
  type StateSaveItem,
  type StateStoreFlavour,
} from './kv-write-plan.ts';
import {
  decodeText,
  findComponent,
  SidecarError,
  type SidecarClient,
  type SidecarRequest,
} from './sidecar-client.ts';
import { readCoalescer } from './read-coalescer.ts';
import { transactionCoalescer, type TransactionMember } from './transaction-coalescer.ts';
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
// Reads of up to this many keys that start in one turn of the event loop share a call.
const COALESCED_KEYS = 256;
// Transactions that start in one turn share a call up to this many bytes of operations.
const COALESCED_TRANSACTION_BYTES = 1024 * 1024;

/**
 * A `KvStore` on a Dapr state store (`state.redis` or `state.postgresql` v1/v2), through
 * the sidecar's HTTP API. How each write is sent per store is in `kv-write-plan.ts`.
 *
 * Keys never go into a URL: reads use the bulk endpoint and deletes a one-operation
 * transaction, so any key the port allows (`/`, `%2F`, `..`, `?`, 4096 bytes) reaches
 * the store unchanged (a key that is `.` or `..` cannot be a URL path segment at all).
 *
 * Reads and transactions that start in one turn of the event loop (the requests that
 * arrived together) share sidecar calls: `read-coalescer.ts` and `transaction-coalescer.ts`
 * say why every caller still gets the answer it would have got alone.
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

  const coalescedRead = readCoalescer(readEntries, COALESCED_KEYS);
  const coalescedTransact = transactionCoalescer({
    maxBytes: COALESCED_TRANSACTION_BYTES,
    atomic: () => TRAITS[current()].atomicTransactions,
    readBack: readEntries,
    async send(members) {
      const operations = members.flatMap((member) =>
        member.operations.map((json, i) => ({ key: member.keys[i] ?? '', json })),
      );
      // PostgreSQL locks each row as the transaction reaches its operation, and aborts one
      // of two transactions that wait on each other (SQLSTATE 40P01, deadlock detected):
      // in key order, every transaction takes its locks in one global order, so none can.
      // The sort is stable, so the operations of one key keep theirs; the order of
      // different keys does not change what an all-or-nothing transaction does.
      if (TRAITS[current()].atomicTransactions)
        operations.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      await call(
        'transaction',
        operations.map((operation) => operation.key),
        {
          method: 'POST',
          path: `${statePath}/transaction`,
          jsonText: `{"operations":[${operations.map((operation) => operation.json).join(',')}]}`,
        },
      );
    },
  });

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
      return (await coalescedRead([key])).get(key);
    },

    async getBulk(keys) {
      keys.forEach(assertValidKvKey);
      current();
      if (keys.length === 0) return new Map();
      return coalescedRead(keys);
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
      await coalescedTransact(
        transactionMember([{ operation: 'delete', request: planDelete(current(), key, deleteOptions) }]),
      );
    },

    async transact(operations) {
      // Every operation is checked before anything is sent, so a bad key or an
      // oversized value in the last one writes nothing.
      const body = operations.map((operation) => toTransactionOperation(operation));
      if (body.length === 0) return;
      await coalescedTransact(transactionMember(body));
    },
  };

  function transactionMember(body: readonly TransactionOperation[]): TransactionMember {
    const conditions: { key: string; leaves: Json | undefined }[] = [];
    for (const item of body) {
      if (item.operation === 'delete') {
        if (item.request.etag !== undefined) conditions.push({ key: item.request.key, leaves: undefined });
      } else if (item.request.etag !== undefined || item.request.options?.concurrency === 'first-write') {
        conditions.push({ key: item.request.key, leaves: item.request.value });
      }
    }
    return {
      keys: body.map(({ request }) => request.key),
      operations: body.map((operation) => JSON.stringify(operation)),
      conditions,
    };
  }

  function toTransactionOperation(operation: KvOperation): TransactionOperation {
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

/** One operation of daprd's `POST /v1.0/state/{store}/transaction`. */
type TransactionOperation =
  | { readonly operation: 'upsert'; readonly request: StateSaveItem }
  | { readonly operation: 'delete'; readonly request: StateDeleteItem };

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
