import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  sharedDeleteInputSchema,
  sharedDeleteResultSchema,
  sharedGetInputSchema,
  sharedGetResultSchema,
  sharedListInputSchema,
  sharedListResultSchema,
  sharedSetInputSchema,
  sharedSetResultSchema,
} from './shared-schemas.ts';

const inputs = {
  'state.shared.get': sharedGetInputSchema,
  'state.shared.set': sharedSetInputSchema,
  'state.shared.delete': sharedDeleteInputSchema,
  'state.shared.list': sharedListInputSchema,
};
const outputs = [
  sharedGetResultSchema,
  sharedSetResultSchema,
  sharedDeleteResultSchema,
  sharedListResultSchema,
];

describe('shared state schemas', () => {
  it('accept the spec inputs', () => {
    expect(sharedGetInputSchema.parse({ key: 'config.mode' })).toEqual({ key: 'config.mode' });
    expect(sharedSetInputSchema.parse({ key: 'counter', value: { n: 1 }, expected_version: 0 })).toEqual({
      key: 'counter',
      value: { n: 1 },
      expected_version: 0,
    });
    expect(sharedDeleteInputSchema.parse({ key: 'a/b%2F' })).toEqual({ key: 'a/b%2F' });
    expect(sharedDeleteInputSchema.safeParse({ key: '../x' }).success).toBe(false);
    expect(sharedListInputSchema.parse({})).toEqual({});
    expect(sharedListInputSchema.parse({ prefix: 'config.', limit: 1000, cursor: 'config.a' })).toMatchObject(
      {
        limit: 1000,
      },
    );
  });

  const bad: [string, z.ZodType, unknown][] = [
    ['an unknown field', sharedGetInputSchema, { key: 'k', version: 1 }],
    ['a missing key', sharedGetInputSchema, {}],
    ['an empty key', sharedDeleteInputSchema, { key: '' }],
    ['a key over 512 bytes', sharedGetInputSchema, { key: 'é'.repeat(257) }],
    ['a key with a control character', sharedGetInputSchema, { key: 'a\u0000b' }],
    ['a missing expected_version', sharedSetInputSchema, { key: 'k', value: 1 }],
    ['a negative expected_version', sharedSetInputSchema, { key: 'k', value: 1, expected_version: -1 }],
    ['a fractional expected_version', sharedSetInputSchema, { key: 'k', value: 1, expected_version: 1.5 }],
    ['a string expected_version', sharedSetInputSchema, { key: 'k', value: 1, expected_version: '1' }],
    ['a value that is not JSON', sharedSetInputSchema, { key: 'k', value: Number.NaN, expected_version: 0 }],
    ['a missing value', sharedSetInputSchema, { key: 'k', expected_version: 0 }],
    ['a limit of 0', sharedListInputSchema, { limit: 0 }],
    ['a limit over 1000', sharedListInputSchema, { limit: 1001 }],
    ['a prefix with a control character', sharedListInputSchema, { prefix: '\n' }],
    ['an empty cursor', sharedListInputSchema, { cursor: '' }],
  ];

  it.each(bad)('refuse %s', (_, schema, input) => {
    expect(schema.safeParse(input).success).toBe(false);
  });

  it.each(Object.entries(inputs))('describe every input of %s in a strict JSON Schema', (_, schema) => {
    const json = z.toJSONSchema(schema) as {
      additionalProperties?: boolean;
      properties: Record<string, object>;
    };
    expect(json.additionalProperties).toBe(false);
    for (const property of Object.values(json.properties)) expect(property).toHaveProperty('description');
  });

  it('generate JSON Schemas for every output', () => {
    for (const schema of outputs) expect(() => z.toJSONSchema(schema)).not.toThrow();
    expect(z.toJSONSchema(sharedSetInputSchema)).toMatchObject({
      required: ['key', 'value', 'expected_version'],
      properties: { expected_version: { type: 'integer', minimum: 0 } },
    });
  });
});
