import { isAppError } from '../core/errors.ts';
import type { Json } from '../core/json.ts';
import type { KvStore } from '../ports/kv-store.ts';

/** A store that records the keys of every write it passes on, in order. */
export function recordingWrites(inner: KvStore): { store: KvStore; written: string[] } {
  const written: string[] = [];
  const store: KvStore = {
    ...inner,
    save: (key, value, options) => (written.push(key), inner.save(key, value, options)),
    delete: (key, options) => (written.push(key), inner.delete(key, options)),
    transact: (operations) => (
      written.push(...operations.map((operation) => operation.key)),
      inner.transact(operations)
    ),
  };
  return { store, written };
}

/**
 * A store whose first save matching `blocks` (alone or inside a transaction) waits
 * until `release()`: `reached` resolves when it starts waiting. For tests that stop one
 * writer at an exact step while another runs.
 */
export function gatedSave(inner: KvStore, blocks: (key: string, value: Json) => boolean) {
  let release = () => {};
  const opened = new Promise<void>((resolve) => (release = resolve));
  let reach = () => {};
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let armed = true;
  const store: KvStore = {
    ...inner,
    async save(key, value, options) {
      if (armed && blocks(key, value)) {
        armed = false;
        reach();
        await opened;
      }
      return inner.save(key, value, options);
    },
    async transact(operations) {
      if (armed && operations.some((op) => op.op === 'save' && blocks(op.key, op.value))) {
        armed = false;
        reach();
        await opened;
      }
      return inner.transact(operations);
    },
  };
  return { store, reached, release };
}

/** Store calls and the keys they read, counted per method, plus the CAS conflicts they met. */
export interface CallCounts {
  calls: number;
  byMethod: Record<string, number>;
  keysRead: number;
  conflicts: string[];
  /**
   * Calls that started while no other was in flight: the round trips a caller waits for
   * one after another (calls sent side by side count once).
   */
  waits: number;
}

/** A store that counts the calls passed on (a sidecar round trip each on Dapr). */
export function countingCalls(inner: KvStore): { store: KvStore; counts: () => CallCounts; reset(): void } {
  const empty = (): CallCounts => ({ calls: 0, byMethod: {}, keysRead: 0, conflicts: [], waits: 0 });
  let counts = empty();
  let inFlight = 0;
  async function counted<T>(method: string, keys: readonly string[], run: () => Promise<T>): Promise<T> {
    counts.calls++;
    if (inFlight === 0) counts.waits++;
    inFlight++;
    counts.byMethod[method] = (counts.byMethod[method] ?? 0) + 1;
    if (method === 'get' || method === 'getBulk') counts.keysRead += keys.length;
    try {
      return await run();
    } catch (error) {
      if (isAppError(error, 'VersionConflict')) counts.conflicts.push(...keys);
      throw error;
    } finally {
      inFlight--;
    }
  }
  const store: KvStore = {
    ...inner,
    get: (key) => counted('get', [key], () => inner.get(key)),
    getBulk: (keys) => counted('getBulk', keys, () => inner.getBulk(keys)),
    save: (key, value, options) => counted('save', [key], () => inner.save(key, value, options)),
    delete: (key, options) => counted('delete', [key], () => inner.delete(key, options)),
    transact: (operations) =>
      counted(
        'transact',
        operations.map((operation) => operation.key),
        () => inner.transact(operations),
      ),
  };
  return {
    store,
    counts: () => structuredClone(counts),
    reset: () => (counts = empty()),
  };
}
