import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.ts';
import { BLOB_MAX_KEY_BYTES, assertValidBlobKey, assertValidBlobPrefix } from './blob-validation.ts';

const codeOf = (check: () => void) => {
  try {
    check();
    return 'ok';
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
};

describe('assertValidBlobKey', () => {
  it.each([
    'a',
    'sessions/s-1/scopes/agent/a-1/snapshots/snapshot_latest.json',
    '.hidden/..dots/...',
    'ключ/🙂/%2F/a b',
    'x'.repeat(BLOB_MAX_KEY_BYTES),
  ])('accepts %j', (key) => expect(codeOf(() => assertValidBlobKey(key))).toBe('ok'));

  it.each([
    '',
    '/abs',
    'trailing/',
    'a//b',
    '.',
    '..',
    '../x',
    'a/./b',
    'a/..',
    'a\\b',
    'nul\u0000',
    'tab\there',
    'del\u007f',
    'lone \ud83d surrogate',
    'x'.repeat(BLOB_MAX_KEY_BYTES + 1),
    'ü'.repeat(BLOB_MAX_KEY_BYTES / 2 + 1),
  ])('refuses %j with InvalidInput', (key) =>
    expect(codeOf(() => assertValidBlobKey(key))).toBe('InvalidInput'),
  );
});

describe('assertValidBlobPrefix', () => {
  it.each(['', 'a', 'a/', 'a/.', 'a/..', 'snapshots/s1/snap'])(
    'accepts %j, which some key starts with',
    (prefix) => expect(codeOf(() => assertValidBlobPrefix(prefix))).toBe('ok'),
  );

  it.each(['/', '../', 'a//', 'a/./b', 'a\\', 'x\u0001'])('refuses %j, which no key starts with', (prefix) =>
    expect(codeOf(() => assertValidBlobPrefix(prefix))).toBe('InvalidInput'),
  );
});
