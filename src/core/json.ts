import { z } from 'zod';
import { AppError } from './errors.ts';

/** A JSON value as stored: what `JSON.parse(JSON.stringify(v))` gives back unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// Named, so that generated JSON Schemas define the recursion once, as `JsonValue`.
export const jsonSchema: z.ZodType<Json> = z
  .lazy(() =>
    z.union([
      z.null(),
      z.boolean(),
      z.number().refine(Number.isFinite, 'numbers must be finite'),
      z.string(),
      z.array(jsonSchema),
      z.record(z.string(), jsonSchema),
    ]),
  )
  .meta({ id: 'JsonValue', description: 'Any JSON value.' });

/**
 * A value read back from a store, which `JSON.parse` produced: JSON by construction, so
 * it is not walked again. (Walking every stored value with {@link jsonSchema}, once in
 * the adapter and once more in the record's schema, cost a get more worker CPU than the
 * rest of its own work.) Only its presence is checked.
 */
export const parsedJsonSchema: z.ZodType<Json> = z.custom<Json>((value) => value !== undefined);

/** Bytes of the UTF-8 JSON encoding, which is what quotas and size limits count. */
export function jsonByteLength(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * The deepest nesting of arrays and objects accepted from a caller. Validation recurses
 * once per level, so a body of a few kilobytes nested thousands deep would exhaust the
 * stack; this bound keeps every recursive step far from that limit.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Refuses, with `InvalidInput`, parsed JSON that cannot be stored as sent: nesting deeper
 * than {@link MAX_JSON_DEPTH}, or an object key `__proto__`, which JSON allows but a
 * JavaScript object cannot keep as data (copying it sets the prototype instead), so it
 * would be dropped without a word. Iterative, so that any depth is safe to check.
 */
export function assertStorableJson(value: unknown, what = 'the JSON'): void {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > MAX_JSON_DEPTH) {
      throw new AppError(
        'InvalidInput',
        `${what} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
    if (Object.hasOwn(next.value, '__proto__')) {
      throw new AppError('InvalidInput', `${what} has an object key "__proto__", which cannot be stored`);
    }
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
}
