import type { BulkItem } from '../core/engine/bulk-load.ts';
import type { Json } from '../core/json.ts';
import { bulkItemOf } from '../portability/state-writer.ts';
import type { PersistentRecord, SharedRecord, StateRecord } from './backup-records.ts';
import type { BackupSource } from './backup-source.ts';

/** Keys per bulk load at most: the engine's own round size. */
const BATCH = 100;
/** Bytes of values held per bulk load at most (`heldBytes`), so that a batch of large values stays small in memory. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Keys per listing page of what the restore deletes: a page holds their values too. */
const LIST_PAGE = 32;

export interface LoadOutcome {
  readonly agents: string[];
  readonly shared: boolean;
}

/** Whether `record` belongs to what a restore of `agent` (or everything) writes. */
function isRestored(record: StateRecord, agent: string | undefined): boolean {
  return agent === undefined || (record.type === 'persistent' && record.agent === agent);
}

/**
 * Makes the state of every agent in `records` (and with `restoresShared` the tenant's
 * shared state) what the records say, through the engine's bulk-load path: each key gets its
 * backed-up value and history under versions above any it had, and keys the backup does
 * not hold are deleted. `records` must be authenticated already (the restore reads the
 * backup once through before it writes); it is read once, holding two batches and the
 * restored key names in memory. Shared keys the backup lacks are deleted as `owner`.
 */
export async function loadRecords(
  source: BackupSource,
  records: AsyncIterable<StateRecord>,
  options: { agent: string | undefined; restoresShared: boolean; owner: string },
): Promise<LoadOutcome> {
  const { agent, restoresShared, owner } = options;
  const agents: string[] = [];
  let current: { agent: string; items: BulkItem[]; bytes: number; keys: Set<string> } | undefined;
  let shared: { items: BulkItem[]; bytes: number; keys: Set<string> } | undefined;

  // One batch loads while the next is gathered (decrypted, decompressed, parsed): the
  // loads still run one at a time, in order, and two batches at most are in memory.
  let loading: Promise<unknown> = Promise.resolve();
  async function startLoad(load: () => Promise<unknown>): Promise<void> {
    await loading;
    loading = load();
    // Awaited by the next load or before anything that must follow it.
    loading.catch(() => undefined);
  }

  async function flushAgent(): Promise<void> {
    if (current === undefined || current.items.length === 0) return;
    const state = source.persistent(current.agent);
    const items = current.items;
    current.items = [];
    current.bytes = 0;
    await startLoad(() => state.load(items, { preserveVersions: true }));
  }
  async function finishAgent(): Promise<void> {
    if (current === undefined) return;
    await flushAgent();
    await loading;
    const state = source.persistent(current.agent);
    await deleteExtras(
      (cursor) => state.list({ limit: LIST_PAGE, ...(cursor === undefined ? {} : { cursor }) }),
      current.keys,
      (key) => state.delete(key),
    );
  }
  async function flushShared(): Promise<void> {
    if (shared === undefined || shared.items.length === 0) return;
    const items = shared.items;
    shared.items = [];
    shared.bytes = 0;
    await startLoad(() => source.shared().load(items));
  }

  try {
    for await (const record of records) {
      if (!isRestored(record, agent)) continue;
      if (record.type === 'persistent') {
        if (current?.agent !== record.agent) {
          await finishAgent();
          current = { agent: record.agent, items: [], bytes: 0, keys: new Set() };
          agents.push(record.agent);
        }
        current.items.push(bulkItemOf(record satisfies PersistentRecord));
        current.bytes += record.versions.reduce((sum, version) => sum + heldBytes(version.value), 0);
        current.keys.add(record.key);
        if (current.items.length >= BATCH || current.bytes >= BATCH_BYTES) await flushAgent();
      } else {
        await finishAgent();
        current = undefined;
        shared ??= { items: [], bytes: 0, keys: new Set() };
        shared.items.push(sharedItemOf(record));
        shared.bytes += heldBytes(record.value);
        shared.keys.add(record.key);
        if (shared.items.length >= BATCH || shared.bytes >= BATCH_BYTES) await flushShared();
      }
    }
  } catch (error) {
    // No load goes on after the restore failed.
    await loading.catch(() => undefined);
    throw error;
  }
  await finishAgent();
  // A full restore makes shared state the backup's, also when it held no shared key.
  if (restoresShared) {
    shared ??= { items: [], bytes: 0, keys: new Set() };
    await flushShared();
    await loading;
    const state = source.shared();
    await deleteExtras(
      (cursor) => state.list({ limit: LIST_PAGE, ...(cursor === undefined ? {} : { cursor }) }),
      shared.keys,
      (key) => state.delete(owner, key),
    );
  }
  await loading;
  return { agents, shared: restoresShared };
}

/**
 * About the bytes `value` holds in memory, what a batch's cap is about: a string's
 * length, a little for every other leaf and key. Walking the value allocates nothing,
 * where measuring its JSON encoding made a dead copy of every restored value.
 */
function heldBytes(value: Json): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object') return 8;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + heldBytes(item), 8);
  let sum = 8;
  for (const [key, item] of Object.entries(value)) sum += key.length + heldBytes(item);
  return sum;
}

function sharedItemOf(record: SharedRecord): BulkItem {
  return {
    key: record.key,
    value: record.value,
    version: record.version,
    updated_at: record.updated_at,
    meta: { owner_agent: record.owner_agent },
  };
}

/** Deletes the listed keys that are not in `kept`, page by page. */
async function deleteExtras(
  list: (cursor: string | undefined) => Promise<{ entries: { key: string }[]; cursor?: string }>,
  kept: ReadonlySet<string>,
  remove: (key: string) => Promise<unknown>,
): Promise<void> {
  for (let cursor: string | undefined; ;) {
    const page = await list(cursor);
    for (const { key } of page.entries) if (!kept.has(key)) await remove(key);
    if (page.cursor === undefined) return;
    cursor = page.cursor;
  }
}
