import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import type { Json } from '../../core/json.ts';
import type { KvEntry } from '../../ports/kv-store.ts';
import { transactionCoalescer, type TransactionMember } from './transaction-coalescer.ts';

interface Save {
  readonly key: string;
  readonly value: Json;
  readonly etag?: string;
}

/** A store of `{value, etag}` that applies transactions as Redis (each save on its own) or all or nothing. */
function fakeStore(atomic: boolean) {
  const data = new Map<string, KvEntry>();
  const sent: number[] = [];
  function apply(saves: readonly Save[]): boolean {
    let allApplied = true;
    for (const save of saves) {
      const entry = data.get(save.key);
      if (save.etag !== undefined && entry?.etag !== save.etag) {
        allApplied = false;
        continue;
      }
      data.set(save.key, { value: save.value, etag: String(Number(entry?.etag ?? 0) + 1) });
    }
    return allApplied;
  }
  const coalesced = transactionCoalescer({
    maxBytes: 10_000,
    atomic: () => atomic,
    async readBack(keys) {
      await Promise.resolve();
      return new Map(keys.flatMap((key) => (data.has(key) ? [[key, data.get(key) as KvEntry]] : [])));
    },
    async send(members) {
      sent.push(members.length);
      await Promise.resolve();
      const saves = members.flatMap((member) =>
        member.operations.map((operation) => JSON.parse(operation) as Save),
      );
      if (atomic) {
        const before = new Map(data);
        if (!apply(saves)) {
          data.clear();
          for (const [key, entry] of before) data.set(key, entry);
          throw new AppError('VersionConflict', 'etag mismatch');
        }
      } else if (!apply(saves)) throw new AppError('VersionConflict', 'etag mismatch');
    },
  });
  const transact = (...saves: Save[]) => coalesced(member(saves));
  return { data, sent, transact };
}

function member(saves: readonly Save[]): TransactionMember {
  return {
    keys: saves.map((save) => save.key),
    operations: saves.map((save) => JSON.stringify(save)),
    conditions: saves
      .filter((save) => save.etag !== undefined)
      .map((save) => ({ key: save.key, leaves: save.value })),
  };
}

describe.each([
  ['all or nothing (PostgreSQL)', true],
  ['each operation on its own (Redis)', false],
])('transactionCoalescer on a store whose transactions apply %s', (_, atomic) => {
  it('sends the transactions started in one turn as one call', async () => {
    const store = fakeStore(atomic);
    await Promise.all([store.transact({ key: 'a', value: 1 }), store.transact({ key: 'b', value: 2 })]);
    expect(store.sent).toEqual([2]);
    expect(store.data.get('a')?.value).toBe(1);
    expect(store.data.get('b')?.value).toBe(2);
  });

  it('answers each member of a call that failed on one condition as it would have been answered alone', async () => {
    const store = fakeStore(atomic);
    await store.transact({ key: 'a', value: 'a1' }, { key: 'b', value: 'b1' });
    const outcomes = await Promise.allSettled([
      store.transact({ key: 'a', value: 'a2', etag: '1' }, { key: 'history/a', value: 'a1' }),
      store.transact({ key: 'b', value: 'b2', etag: '7' }),
      store.transact({ key: 'c', value: 'c1' }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'VersionConflict' });
    expect(store.data.get('a')?.value).toBe('a2');
    expect(store.data.get('b')?.value).toBe('b1');
    expect(store.data.get('c')?.value).toBe('c1');
  });

  it('never puts two writers of one key in one call', async () => {
    const store = fakeStore(atomic);
    await store.transact({ key: 'a', value: 0 });
    const outcomes = await Promise.allSettled([
      store.transact({ key: 'a', value: 'first', etag: '1' }),
      store.transact({ key: 'a', value: 'second', etag: '1' }),
    ]);
    expect(store.sent).toEqual([1, 1, 1]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('transactionCoalescer', () => {
  it('fails every member with an error that leaves the outcome unknown', async () => {
    const unavailable = new AppError('Unavailable', 'no answer');
    const coalesced = transactionCoalescer({
      maxBytes: 10_000,
      atomic: () => false,
      readBack: () => Promise.resolve(new Map()),
      send: () => Promise.reject(unavailable),
    });
    const outcomes = await Promise.allSettled([
      coalesced(member([{ key: 'a', value: 1 }])),
      coalesced(member([{ key: 'b', value: 2 }])),
    ]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: unavailable },
      { status: 'rejected', reason: unavailable },
    ]);
  });

  it('fails every member with the error of the read that was to tell what each did', async () => {
    const unavailable = new AppError('Unavailable', 'no answer to the read-back');
    const coalesced = transactionCoalescer({
      maxBytes: 10_000,
      atomic: () => false,
      readBack: () => Promise.reject(unavailable),
      send: () => Promise.reject(new AppError('VersionConflict', 'etag mismatch')),
    });
    const outcomes = await Promise.allSettled([
      coalesced(member([{ key: 'a', value: 1, etag: '1' }])),
      coalesced(member([{ key: 'b', value: 2, etag: '1' }])),
    ]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: unavailable },
      { status: 'rejected', reason: unavailable },
    ]);
  });

  it('sends a member bigger than a call alone, and starts a new call when one is full', async () => {
    const sent: number[] = [];
    const coalesced = transactionCoalescer({
      maxBytes: 60,
      atomic: () => false,
      readBack: () => Promise.resolve(new Map()),
      send: (members) => {
        sent.push(members.length);
        return Promise.resolve();
      },
    });
    const small = (key: string) => coalesced(member([{ key, value: 1 }]));
    await Promise.all([
      small('a'),
      small('b'),
      small('c'),
      coalesced(member([{ key: 'big', value: 'x'.repeat(100) }])),
    ]);
    expect(sent.sort()).toEqual([1, 1, 2]);
  });
});
