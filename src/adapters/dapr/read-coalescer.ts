import type { KvEntry } from '../../ports/kv-store.ts';

/** Reads the entries of `keys` in one sidecar call (or a few, for very many keys). */
export type ReadEntries = (keys: readonly string[]) => Promise<Map<string, KvEntry>>;

/**
 * Merges the reads that a worker starts in one turn of the event loop into one bulk
 * read: the requests that arrive together (the poll phase hands them over one after
 * another before any timer or check callback runs) share one sidecar call instead of
 * sending one each. At concurrency 1 there is nothing to merge and the read leaves at
 * once, a check phase later. Under load more requests arrive per turn, so more reads
 * share a call, just when each call's cost matters most.
 *
 * Every caller gets exactly the entries of its own keys, as if it had read alone: a
 * bulk read is a set of independent single-key reads (daprd runs one `Get` per key,
 * components-contrib `state/bulk.go` `DoBulkGet`), so merging changes no answer. A
 * failed call fails every read it carried, as each would have failed alone.
 */
export function readCoalescer(readEntries: ReadEntries, maxKeys: number): ReadEntries {
  let pending: Batch | undefined;

  function flush(batch: Batch): void {
    if (pending === batch) pending = undefined;
    readEntries([...batch.keys]).then(
      (found) => {
        const handedOut = new Set<string>();
        for (const reader of batch.readers) reader.resolve(pick(found, reader.keys, handedOut));
      },
      (error: unknown) => {
        for (const reader of batch.readers) reader.reject(error);
      },
    );
  }

  return (keys) => {
    // A read too big to share a call goes alone; its own chunking applies.
    if (keys.length >= maxKeys) return readEntries(keys);
    if (pending !== undefined && pending.keys.size + keys.length > maxKeys) {
      const full = pending;
      pending = undefined;
      clearImmediate(full.timer);
      flush(full);
    }
    const batch = (pending ??= newBatch(flush));
    for (const key of keys) batch.keys.add(key);
    return new Promise((resolve, reject) => batch.readers.push({ keys, resolve, reject }));
  };
}

interface Reader {
  readonly keys: readonly string[];
  readonly resolve: (entries: Map<string, KvEntry>) => void;
  readonly reject: (error: unknown) => void;
}

interface Batch {
  readonly keys: Set<string>;
  readonly readers: Reader[];
  readonly timer: NodeJS.Immediate;
}

function newBatch(flush: (batch: Batch) => void): Batch {
  const batch: Batch = {
    keys: new Set(),
    readers: [],
    timer: setImmediate(() => flush(batch)),
  };
  return batch;
}

/**
 * The entries of `keys`. A key another reader of the batch already got is handed out
 * as a copy, so that no two callers ever share a value they might change.
 */
function pick(
  found: ReadonlyMap<string, KvEntry>,
  keys: readonly string[],
  handedOut: Set<string>,
): Map<string, KvEntry> {
  const entries = new Map<string, KvEntry>();
  for (const key of keys) {
    const entry = found.get(key);
    if (entry === undefined) continue;
    entries.set(key, handedOut.has(key) ? { value: structuredClone(entry.value), etag: entry.etag } : entry);
    handedOut.add(key);
  }
  return entries;
}
