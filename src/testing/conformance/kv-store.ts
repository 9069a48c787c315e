import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../core/errors.ts';
import type { Json } from '../../core/json.ts';
import { KV_MAX_KEY_BYTES, type KvStore } from '../../ports/kv-store.ts';
import { eventually, expectAppError } from './assertions.ts';
import type { ConformanceTarget } from './target.ts';

/**
 * The semantics of `KvStore` (src/ports/kv-store.ts), run against one adapter. Every
 * adapter file is a few lines that call this with a way to create its store.
 */
export function kvStoreConformance(target: ConformanceTarget<KvStore>): void {
  describe.skipIf(target.skip !== undefined)(
    `KvStore conformance: ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`,
    () => {
      let store: KvStore;
      // Each test writes under its own prefix, so one store serves the whole suite.
      const key = (name: string) => `conformance/${randomUUID()}/${name}`;

      beforeAll(async () => {
        store = await target.create();
        await store.init();
      }, target.setupTimeoutMs ?? 180_000);

      afterAll(async () => {
        await store?.close();
        await target.destroy?.();
      }, 60_000);

      it('reads a missing key as undefined', async () => {
        expect(await store.get(key('missing'))).toBeUndefined();
      });

      it('round-trips every kind of JSON value', async () => {
        const values: Json[] = [
          { nested: { list: [1, 'two', false, null], unicode: 'Grüße 🙂 中文' } },
          [1, 2, 3],
          'plain string',
          '',
          0,
          -12.5,
          true,
          false,
          null,
        ];
        for (const value of values) {
          const k = key('value');
          const etag = await store.save(k, value);
          expect(await store.get(k)).toEqual({ value, etag });
        }
      });

      it('hands out a new ETag on every write', async () => {
        const k = key('etags');
        const first = await store.save(k, 1);
        const second = await store.save(k, 2);
        expect(second).not.toBe(first);
        expect((await store.get(k))?.etag).toBe(second);
      });

      describe('compare-and-swap', () => {
        it('writes when the ETag is current', async () => {
          const k = key('cas');
          const etag = await store.save(k, 'a');
          const next = await store.save(k, 'b', { etag });
          expect(await store.get(k)).toEqual({ value: 'b', etag: next });
        });

        it('refuses a stale ETag with VersionConflict and keeps the value', async () => {
          const k = key('cas-stale');
          const stale = await store.save(k, 'a');
          await store.save(k, 'b', { etag: stale });
          await expectAppError(store.save(k, 'c', { etag: stale }), 'VersionConflict');
          expect((await store.get(k))?.value).toBe('b');
        });

        it('treats an ETag on a missing key as its traits declare', async () => {
          const k = key('cas-missing');
          const otherKey = key('cas-missing-source');
          const etag = await store.save(otherKey, 'x');
          if (store.traits.casOnMissingKey === 'conflicts') {
            await expectAppError(store.save(k, 'y', { etag }), 'VersionConflict');
            expect(await store.get(k)).toBeUndefined();
            await expectAppError(store.delete(k, { etag }), 'VersionConflict');
          } else {
            await store.save(k, 'y', { etag });
            expect((await store.get(k))?.value).toBe('y');
            await store.delete(key('never-written'), { etag });
          }
        });

        it('ends at exactly 1600 after 32 concurrent writers increment 50 times each', async () => {
          const k = key('counter');
          await store.save(k, 0, { ifAbsent: true });
          const increment = async () => {
            for (;;) {
              const current = await store.get(k);
              if (current === undefined) throw new Error('counter vanished');
              try {
                await store.save(k, (current.value as number) + 1, { etag: current.etag });
                return;
              } catch (error) {
                if (!(error instanceof AppError && error.code === 'VersionConflict')) throw error;
                await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
              }
            }
          };
          await Promise.all(
            Array.from({ length: 32 }, async () => {
              for (let i = 0; i < 50; i++) await increment();
            }),
          );
          expect((await store.get(k))?.value).toBe(1600);
        }, 180_000);
      });

      describe('create-if-absent', () => {
        it('creates a missing key and refuses an existing one with VersionConflict', async () => {
          const k = key('create');
          await store.save(k, 'first', { ifAbsent: true });
          await expectAppError(store.save(k, 'second', { ifAbsent: true }), 'VersionConflict');
          expect((await store.get(k))?.value).toBe('first');
        });

        it('lets exactly one of 16 concurrent creators win', async () => {
          const k = key('race');
          const results = await Promise.allSettled(
            Array.from({ length: 16 }, (_, i) => store.save(k, { creator: i }, { ifAbsent: true })),
          );
          const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
          expect(winners).toHaveLength(1);
          for (const r of results) {
            if (r.status === 'rejected') expect(codeOf(r.reason)).toBe('VersionConflict');
          }
          expect((await store.get(k))?.value).toEqual({ creator: winners[0] });
        });

        it('refuses a key that was written unconditionally', async () => {
          const k = key('create-after-save');
          await store.save(k, 'plain');
          await expectAppError(store.save(k, 'created', { ifAbsent: true }), 'VersionConflict');
          expect((await store.get(k))?.value).toBe('plain');
        });

        it('lets an unconditional save overwrite a key that was created', async () => {
          const k = key('save-after-create');
          await store.save(k, 'created', { ifAbsent: true });
          await store.save(k, 'overwritten');
          expect((await store.get(k))?.value).toBe('overwritten');
        });

        it('creates again after a delete', async () => {
          const k = key('recreate');
          await store.save(k, 'one', { ifAbsent: true });
          await store.delete(k);
          await store.save(k, 'two', { ifAbsent: true });
          expect((await store.get(k))?.value).toBe('two');
        });
      });

      describe('delete', () => {
        it('deletes with the current ETag and refuses a stale one', async () => {
          const k = key('delete');
          const stale = await store.save(k, 1);
          const current = await store.save(k, 2);
          await expectAppError(store.delete(k, { etag: stale }), 'VersionConflict');
          expect((await store.get(k))?.value).toBe(2);
          await store.delete(k, { etag: current });
          expect(await store.get(k)).toBeUndefined();
        });

        it('deletes unconditionally, and deleting a missing key succeeds', async () => {
          const k = key('delete-plain');
          await store.save(k, 1);
          await store.delete(k);
          expect(await store.get(k)).toBeUndefined();
          await store.delete(k);
        });
      });

      it('bulk-reads present keys with their ETags and leaves missing ones out', async () => {
        const present = [key('bulk-a'), key('bulk-b')];
        const etags = await Promise.all(present.map((k, i) => store.save(k, { i })));
        const missing = key('bulk-missing');
        const found = await store.getBulk([present[0]!, missing, present[1]!]);
        expect([...found.keys()].sort()).toEqual([...present].sort());
        expect(found.get(present[0]!)).toEqual({ value: { i: 0 }, etag: etags[0] });
        expect(found.get(present[1]!)).toEqual({ value: { i: 1 }, etag: etags[1] });
        expect(found.has(missing)).toBe(false);
        expect((await store.getBulk([])).size).toBe(0);
      });

      describe('expiry', () => {
        it('expires a key after its TTL', async () => {
          const k = key('ttl');
          await store.save(k, 'short-lived', { ttlSeconds: 1 });
          expect((await store.get(k))?.value).toBe('short-lived');
          await eventually(async () => expect(await store.get(k)).toBeUndefined(), 15_000);
          expect((await store.getBulk([k])).size).toBe(0);
          await store.save(k, 'created again', { ifAbsent: true });
          expect((await store.get(k))?.value).toBe('created again');
        }, 30_000);

        it('makes a key permanent again when saved without a TTL', async () => {
          const k = key('ttl-cleared');
          await store.save(k, 'expiring', { ttlSeconds: 1 });
          await store.save(k, 'permanent');
          await new Promise((resolve) => setTimeout(resolve, 2_500));
          expect((await store.get(k))?.value).toBe('permanent');
        }, 30_000);
      });

      describe('limits', () => {
        it('accepts a value whose JSON is exactly the limit', async () => {
          const k = key('at-limit');
          const value = 'x'.repeat(store.limits.maxValueBytes - 2);
          await store.save(k, value);
          expect((await store.get(k))?.value).toBe(value);
        }, 60_000);

        it('refuses a value one byte over the limit with PayloadTooLarge and writes nothing', async () => {
          const k = key('over-limit');
          await store.save(k, 'before');
          await expectAppError(store.save(k, 'x'.repeat(store.limits.maxValueBytes - 1)), 'PayloadTooLarge');
          await expectAppError(
            store.transact([{ op: 'save', key: k, value: 'x'.repeat(store.limits.maxValueBytes - 1) }]),
            'PayloadTooLarge',
          );
          expect((await store.get(k))?.value).toBe('before');
        }, 60_000);

        it('keeps keys with Unicode, slashes, dots, percent signs and 4096 bytes apart', async () => {
          const base = key('');
          const names = [
            'ключ-🙂-中文',
            'a/b',
            'a/../b',
            '..',
            '%2F',
            'a%2Fb',
            'with space',
            '?x=1&y=#z',
            'é',
          ];
          const long = base + 'k'.repeat(KV_MAX_KEY_BYTES - Buffer.byteLength(base));
          const keys = [...names.map((n) => base + n), long];
          for (const [i, k] of keys.entries()) await store.save(k, i);
          const found = await store.getBulk(keys);
          for (const [i, k] of keys.entries()) {
            expect((await store.get(k))?.value).toBe(i);
            expect(found.get(k)?.value).toBe(i);
          }
          await store.delete(long);
          expect(await store.get(long)).toBeUndefined();
          expect((await store.get(keys[0]!))?.value).toBe(0);
        });

        it('refuses a TTL that is not a whole number of seconds from 1 to 2^31-1 with InvalidInput', async () => {
          const k = key('bad-ttl');
          for (const ttlSeconds of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
            await expectAppError(store.save(k, 1, { ttlSeconds }), 'InvalidInput');
          }
          expect(await store.get(k)).toBeUndefined();
        });

        it('refuses empty, "||", control-character and over-long keys with InvalidInput', async () => {
          const bad = ['', 'a||b', 'line\nbreak', 'nul\u0000', 'k'.repeat(KV_MAX_KEY_BYTES + 1)];
          for (const k of bad) {
            await expectAppError(store.save(k, 1), 'InvalidInput');
            await expectAppError(store.get(k), 'InvalidInput');
            await expectAppError(store.delete(k), 'InvalidInput');
            await expectAppError(store.transact([{ op: 'save', key: k, value: 1 }]), 'InvalidInput');
          }
        });
      });

      describe('transactions', () => {
        it('applies saves and deletes together', async () => {
          const [a, b, c] = [key('tx-a'), key('tx-b'), key('tx-c')];
          const cEtag = await store.save(c, 'to delete');
          await store.transact([
            { op: 'save', key: a, value: 'A' },
            { op: 'save', key: b, value: 'B', options: { ttlSeconds: 3600 } },
            { op: 'delete', key: c, options: { etag: cEtag } },
          ]);
          expect((await store.get(a))?.value).toBe('A');
          expect((await store.get(b))?.value).toBe('B');
          expect(await store.get(c)).toBeUndefined();
        });

        it('fails with VersionConflict on a stale ETag, rolling back only where atomic', async () => {
          const [a, b] = [key('tx-atomic-a'), key('tx-atomic-b')];
          await store.save(a, 'a0');
          const stale = await store.save(b, 'b0');
          await store.save(b, 'b1');
          await expectAppError(
            store.transact([
              { op: 'save', key: a, value: 'a1' },
              { op: 'save', key: b, value: 'b2', options: { etag: stale } },
            ]),
            'VersionConflict',
          );
          expect((await store.get(b))?.value).toBe('b1');
          // Non-atomic stores (Redis) apply the operations whose conditions held.
          expect((await store.get(a))?.value).toBe(store.traits.atomicTransactions ? 'a0' : 'a1');
        });
      });
    },
  );
}

function codeOf(error: unknown): ErrorCode | undefined {
  return error instanceof AppError ? error.code : undefined;
}
