import { describe, expect, it } from 'vitest';
import { jsonEqual, planDelete, planSave } from './kv-write-plan.ts';

describe('planSave on Redis', () => {
  it('never asks for first-write, whose flag would break later saves', () => {
    for (const options of [undefined, { ifAbsent: true as const }, { etag: '7' }, { ttlSeconds: 5 }]) {
      expect(planSave('redis', 'k', 1, options).item.options).toBeUndefined();
    }
  });

  it('creates with the ETag no key has, which makes the new version 1', () => {
    expect(planSave('redis', 'k', 'v', { ifAbsent: true })).toEqual({
      item: { key: 'k', value: 'v', etag: '-1', metadata: { ttlInSeconds: '-1' } },
      newEtag: '1',
    });
  });

  it('derives the ETag after a CAS from the script’s HINCRBY', () => {
    expect(planSave('redis', 'k', 'v', { etag: '41', ttlSeconds: 30 })).toEqual({
      item: { key: 'k', value: 'v', etag: '41', metadata: { ttlInSeconds: '30' } },
      newEtag: '42',
    });
  });

  it('sends ETags that are not versions as one that matches no key', () => {
    // "0" would mean "no ETag" to the script; "abc" would fail Redis' Atoi with a 400.
    for (const etag of ['0', 'abc', '007', '-3', '1234567890123456', 'superseded']) {
      expect(planSave('redis', 'k', 'v', { etag }).item.etag).toBe('-1');
    }
  });

  it('reads back the ETag of an unconditional save', () => {
    expect(planSave('redis', 'k', 'v', undefined)).toEqual({
      item: { key: 'k', value: 'v', metadata: { ttlInSeconds: '-1' } },
      newEtag: undefined,
    });
  });
});

describe('planSave on PostgreSQL', () => {
  it('creates with first-write and no ETag', () => {
    expect(planSave('postgresql', 'k', 'v', { ifAbsent: true }).item).toEqual({
      key: 'k',
      value: 'v',
      options: { concurrency: 'first-write' },
      metadata: { ttlInSeconds: '-1' },
    });
  });

  it('passes ETags through and always reads the new one back', () => {
    expect(planSave('postgresql', 'k', 'v', { etag: 'abc' })).toEqual({
      item: { key: 'k', value: 'v', etag: 'abc', metadata: { ttlInSeconds: '-1' } },
      newEtag: undefined,
    });
    expect(planSave('postgresql', 'k', 'v', undefined).newEtag).toBeUndefined();
  });
});

describe('planDelete', () => {
  it('keeps Redis from reading "0" as "delete whatever the version"', () => {
    expect(planDelete('redis', 'k', { etag: '0' })).toEqual({ key: 'k', etag: '-1' });
    expect(planDelete('redis', 'k', { etag: '3' })).toEqual({ key: 'k', etag: '3' });
    expect(planDelete('redis', 'k', undefined)).toEqual({ key: 'k' });
    expect(planDelete('postgresql', 'k', { etag: '0' })).toEqual({ key: 'k', etag: '0' });
  });
});

describe('jsonEqual', () => {
  it('compares objects by members, in any order, and everything else exactly', () => {
    expect(jsonEqual({ a: 1, b: [true, null, { c: 'x' }] }, { b: [true, null, { c: 'x' }], a: 1 })).toBe(
      true,
    );
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: null }, {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });
});
