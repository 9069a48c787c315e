import { describe, expect, it } from 'vitest';
import type { KvEntry } from '../../ports/kv-store.ts';
import { readCoalescer } from './read-coalescer.ts';

function countingStore(stored: Record<string, KvEntry>) {
  const calls: string[][] = [];
  async function readEntries(keys: readonly string[]): Promise<Map<string, KvEntry>> {
    calls.push([...keys]);
    await Promise.resolve();
    const found = new Map<string, KvEntry>();
    for (const key of keys) if (stored[key] !== undefined) found.set(key, stored[key]);
    return found;
  }
  return { calls, readEntries };
}

const stored: Record<string, KvEntry> = {
  a: { value: { n: 1 }, etag: '1' },
  b: { value: 'two', etag: '7' },
  c: { value: [3], etag: '2' },
};

describe('readCoalescer', () => {
  it('sends the reads started in one turn as one call, and answers each with its own keys', async () => {
    const store = countingStore(stored);
    const read = readCoalescer(store.readEntries, 100);
    const [first, second, third] = await Promise.all([read(['a']), read(['b', 'missing']), read(['c'])]);
    expect(store.calls).toEqual([['a', 'b', 'missing', 'c']]);
    expect([...first]).toEqual([['a', stored.a]]);
    expect([...second]).toEqual([['b', stored.b]]);
    expect([...third]).toEqual([['c', stored.c]]);
  });

  it('sends reads of later turns in calls of their own', async () => {
    const store = countingStore(stored);
    const read = readCoalescer(store.readEntries, 100);
    expect((await read(['a'])).get('a')).toEqual(stored.a);
    expect((await read(['b'])).get('b')).toEqual(stored.b);
    expect(store.calls).toEqual([['a'], ['b']]);
  });

  it('hands a key two readers asked for to the second as a copy', async () => {
    const store = countingStore(stored);
    const read = readCoalescer(store.readEntries, 100);
    const [first, second] = await Promise.all([read(['a']), read(['a', 'b'])]);
    expect(store.calls).toEqual([['a', 'b']]);
    expect(second.get('a')).toEqual(first.get('a'));
    expect(second.get('a')?.value).not.toBe(first.get('a')?.value);
  });

  it('fails every read of a call that failed', async () => {
    const failure = new Error('sidecar gone');
    const read = readCoalescer(() => Promise.reject(failure), 100);
    const outcomes = await Promise.allSettled([read(['a']), read(['b'])]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
  });

  it('never lets a call carry more than its key limit, and sends a big read alone', async () => {
    const store = countingStore(stored);
    const read = readCoalescer(store.readEntries, 3);
    await Promise.all([read(['a', 'b']), read(['c', 'd']), read(['e', 'f', 'g', 'h'])]);
    expect(store.calls).toEqual([
      ['a', 'b'],
      ['e', 'f', 'g', 'h'],
      ['c', 'd'],
    ]);
  });
});
