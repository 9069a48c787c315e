import { z } from 'zod';

/** A JSON value as stored: what `JSON.parse(JSON.stringify(v))` gives back unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const jsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number().refine(Number.isFinite, 'numbers must be finite'),
    z.string(),
    z.array(jsonSchema),
    z.record(z.string(), jsonSchema),
  ]),
);

/** Bytes of the UTF-8 JSON encoding, which is what quotas and size limits count. */
export function jsonByteLength(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
