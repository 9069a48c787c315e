import { describe, expect, it } from 'vitest';
import type { KvOperation } from '../../ports/kv-store.ts';
import { transactionBatches } from './transaction-batches.ts';

const save = (key: string, bytes: number): KvOperation => ({ op: 'save', key, value: 'x'.repeat(bytes - 2) });

describe('transactionBatches', () => {
  it('cuts at 100 operations and keeps their order', () => {
    const operations = Array.from({ length: 250 }, (_, i) => save(`k${i}`, 10));
    const batches = [...transactionBatches(operations)];
    expect(batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(operations);
  });

  it('cuts before a batch passes 1 MiB of values, and lets one larger operation through alone', () => {
    const batches = [...transactionBatches([save('a', 600_000), save('b', 600_000), save('c', 2_000_000)])];
    expect(batches.map((batch) => batch.map((operation) => operation.key))).toEqual([['a'], ['b'], ['c']]);
  });
});
