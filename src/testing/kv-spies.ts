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
