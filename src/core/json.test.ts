import { describe, expect, it } from 'vitest';
import { isAppError } from './errors.ts';
import { assertStorableJson, jsonSchema, MAX_JSON_DEPTH } from './json.ts';

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let level = 0; level < levels; level++) value = level % 2 === 0 ? [value] : { a: value };
  return value;
};

const refusal = (value: unknown) => {
  try {
    assertStorableJson(value);
    return undefined;
  } catch (error) {
    return isAppError(error, 'InvalidInput') ? error.message : error;
  }
};

describe('assertStorableJson', () => {
  it('accepts nesting up to MAX_JSON_DEPTH, which validation then handles', () => {
    expect(refusal(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(jsonSchema.safeParse(nested(MAX_JSON_DEPTH)).success).toBe(true);
  });

  it('refuses one level more, and any depth without exhausting the stack', () => {
    expect(refusal(nested(MAX_JSON_DEPTH + 1))).toMatch(/deeper than 256 levels/);
    expect(refusal(nested(100_000))).toMatch(/deeper than/);
  });

  it('refuses a "__proto__" key at any depth, which an object cannot keep as data', () => {
    expect(refusal(JSON.parse('{"a":[{"b":{"__proto__":{"x":1}}}]}'))).toMatch(/"__proto__"/);
    expect(refusal(JSON.parse('{"proto":1,"constructor":2}'))).toBeUndefined();
  });
});
