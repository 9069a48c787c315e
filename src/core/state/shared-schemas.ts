import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import { jsonSchema } from '../json.ts';
import { MAX_PAGE_LIMIT } from './persistent-input.ts';
import { keyCursorSchema, keyPrefixSchema, userKeySchema } from './key-schemas.ts';

// The inputs and outputs of the state.shared.* capabilities, exactly as the spec lists
// them (plus `limit` and `cursor` for pagination). Every surface validates requests and
// documents answers with these; JSON Schemas are generated from them, so the rules that
// JSON Schema cannot say (bytes, control characters) are refinements that reuse the
// checks of `user-key.ts`, and the domain functions check the same again.

const keySchema = userKeySchema.describe(
  "A key of the tenant's shared state: 1 to 512 bytes of UTF-8 without control characters or '.'/'..' path segments.",
);
const timestamp = z.iso.datetime();
const ownerSchema = idSchema.describe('The agent whose write (or delete) made the current version.');
const count = z.int().nonnegative();

export const sharedGetInputSchema = z.strictObject({
  key: keySchema.describe('The shared key to read.'),
});
export type SharedGetInput = z.infer<typeof sharedGetInputSchema>;

export const sharedGetResultSchema = z.discriminatedUnion('found', [
  z.object({
    value: jsonSchema.describe('The stored JSON value.'),
    version: z.int().min(1).describe('The current version; pass it as expected_version to update the key.'),
    found: z.literal(true).describe('The key exists.'),
    owner_agent: ownerSchema,
    updated_at: timestamp.describe('When the current version was written.'),
  }),
  z.object({
    value: z.null().describe('Always null: the key does not exist.'),
    version: z.literal(0).describe('Always 0: pass it as expected_version to create the key.'),
    found: z.literal(false).describe('The key does not exist (never written, or deleted).'),
    owner_agent: z.null(),
    updated_at: z.null(),
  }),
]);
export type SharedGetResult = z.infer<typeof sharedGetResultSchema>;

export const sharedSetInputSchema = z.strictObject({
  key: keySchema.describe('The shared key to write.'),
  value: jsonSchema.describe('Any JSON value; its encoding counts against the tenant quota.'),
  expected_version: z
    .int()
    .min(0)
    .describe(
      'The version this write replaces, as state.shared.get answered it; 0 to create a key that does not exist. Any other current version rejects the write with VersionConflict.',
    ),
});
export type SharedSetInput = z.infer<typeof sharedSetInputSchema>;

export const sharedSetResultSchema = z.object({
  version: z.int().min(1).describe('The version this write created.'),
});
export type SharedSetResult = z.infer<typeof sharedSetResultSchema>;

export const sharedDeleteInputSchema = z.strictObject({
  key: keySchema.describe('The shared key to remove.'),
  // Beyond the spec's inputs, as REST's If-Match: the optimistic lock `set` has.
  expected_version: z
    .int()
    .min(1)
    .optional()
    .describe(
      'Remove the key only if this is its current version (as state.shared.get answered it), else VersionConflict; whatever its version when left out.',
    ),
});
export type SharedDeleteInput = z.infer<typeof sharedDeleteInputSchema>;

export const sharedDeleteResultSchema = z.object({
  deleted: z.literal(true).describe('The key existed and is removed; a missing key is KeyNotFound instead.'),
});
export type SharedDeleteResult = z.infer<typeof sharedDeleteResultSchema>;

export const sharedListInputSchema = z.strictObject({
  prefix: keyPrefixSchema
    .optional()
    .describe('Only keys that start with this text; every key when left out.'),
  limit: z
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .optional()
    .describe(`The most entries to answer in one page. Defaults to ${MAX_PAGE_LIMIT}.`),
  cursor: keyCursorSchema.optional(),
});
export type SharedListInput = z.infer<typeof sharedListInputSchema>;

export const sharedListResultSchema = z.object({
  entries: z
    .array(
      z.object({
        key: z.string(),
        version: z.int().min(1),
        size_bytes: count.describe('Bytes of the value as JSON in UTF-8.'),
        owner_agent: ownerSchema,
        updated_at: timestamp,
      }),
    )
    .describe('The live keys of this page, sorted by key.'),
  count: count.describe('How many entries this page holds.'),
  total_size_bytes: count.describe("The sum of this page's size_bytes (not of the whole shared state)."),
  cursor: z
    .string()
    .exactOptional()
    .describe('Present when more keys may follow: pass it back as cursor for the next page.'),
});
export type SharedListResult = z.infer<typeof sharedListResultSchema>;
