import type { KvOperation } from '../../ports/kv-store.ts';
import { jsonByteLength } from '../json.ts';

// Below daprd's 4 MiB request limit and the 100 operations some state stores allow in
// one transaction.
export const OPERATIONS_PER_TRANSACTION = 100;
const BYTES_PER_TRANSACTION = 1024 * 1024;

/**
 * `operations` in order, cut into transactions that a sidecar and its store accept;
 * a generator of operations is consumed a batch at a time.
 */
export function* transactionBatches(operations: Iterable<KvOperation>): Generator<KvOperation[]> {
  let batch: KvOperation[] = [];
  let bytes = 0;
  for (const operation of operations) {
    const size = operation.op === 'save' ? jsonByteLength(operation.value) : 0;
    if (
      batch.length > 0 &&
      (bytes + size > BYTES_PER_TRANSACTION || batch.length >= OPERATIONS_PER_TRANSACTION)
    ) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(operation);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
