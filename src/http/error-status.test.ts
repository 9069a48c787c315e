import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/errors.ts';
import { errorStatus } from './error-status.ts';

// The README's error table is what callers read; it must list every code with its status.
describe('the README error table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.split('<!-- error-codes:start -->')[1]?.split('<!-- error-codes:end -->')[0] ?? '';
  const rows = new Map(
    [...table.matchAll(/^\| `(\w+)`\s*\| (\d{3})\s*\|/gm)].map(
      (match) => [match[1], Number(match[2])] as const,
    ),
  );

  it('lists every error code with its HTTP status, and nothing else', () => {
    expect([...rows.keys()].sort()).toEqual(Object.values(ErrorCode).sort());
    for (const code of Object.values(ErrorCode)) expect(rows.get(code), code).toBe(errorStatus[code]);
  });
});
