import { z } from 'zod';
import { jsonSchema } from '../json.ts';
import { keyCursorSchema, keyPrefixSchema, userKeySchema } from './key-schemas.ts';
import { MAX_PAGE_LIMIT } from './persistent-input.ts';

// The inputs and outputs of the state.persistent.* capabilities, exactly as the spec
// lists them (plus `limit` and `cursor` for pagination), so every surface can parse,
// answer and document them.

const timestamp = z.iso.datetime();
const version = z.number().int().min(1);
const count = z.number().int().nonnegative();

const pageLimit = (defaultLimit: number) =>
  z
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .exactOptional()
    .describe(`The most entries one page answers. Default ${defaultLimit}, at most ${MAX_PAGE_LIMIT}.`);

export const persistentGetInputSchema = z.strictObject({
  key: userKeySchema.describe("The key to look up in the agent's persistent state."),
  version: version
    .exactOptional()
    .describe(
      'A retained version to read instead of the latest; older versions than retention keeps are KeyNotFound.',
    ),
});
export type PersistentGetInput = z.infer<typeof persistentGetInputSchema>;

export const persistentSetInputSchema = z.strictObject({
  key: userKeySchema.describe('The key to store under; an existing key gets a new version.'),
  value: jsonSchema.describe("Any JSON value; its encoding counts against the agent's quota."),
});
export type PersistentSetInput = z.infer<typeof persistentSetInputSchema>;

export const persistentDeleteInputSchema = z.strictObject({
  key: userKeySchema.describe('The key to remove with all its versions.'),
});
export type PersistentDeleteInput = z.infer<typeof persistentDeleteInputSchema>;

export const persistentListInputSchema = z.strictObject({
  prefix: keyPrefixSchema.exactOptional(),
  limit: pageLimit(1000),
  cursor: keyCursorSchema.exactOptional(),
});
export type PersistentListInput = z.infer<typeof persistentListInputSchema>;

export const persistentQueryInputSchema = z.strictObject({
  prefix: keyPrefixSchema.describe(
    "The keys to answer with their values: those that start with this, e.g. 'config.'.",
  ),
  limit: pageLimit(100),
  cursor: keyCursorSchema.exactOptional(),
});
export type PersistentQueryInput = z.infer<typeof persistentQueryInputSchema>;

export const persistentHistoryInputSchema = z.strictObject({
  key: userKeySchema.describe('The key whose retained versions to answer.'),
  limit: z
    .int()
    .min(1)
    .exactOptional()
    .describe('The most versions to answer, newest first. Default: every retained version.'),
});
export type PersistentHistoryInput = z.infer<typeof persistentHistoryInputSchema>;

export const persistentGetResultSchema = z.object({
  value: jsonSchema,
  version,
  found: z.literal(true),
  created_at: timestamp,
  updated_at: timestamp,
});
export type PersistentGetResult = z.infer<typeof persistentGetResultSchema>;

export const persistentSetResultSchema = z.object({
  version,
  /** 0 if the key did not exist (never written, or deleted). */
  previous_version: z.number().int().nonnegative(),
});
export type PersistentSetResult = z.infer<typeof persistentSetResultSchema>;

export const persistentDeleteResultSchema = z.object({ deleted: z.literal(true) });
export type PersistentDeleteResult = z.infer<typeof persistentDeleteResultSchema>;

export const persistentListResultSchema = z.object({
  entries: z.array(z.object({ key: z.string(), version, size_bytes: count, updated_at: timestamp })),
  count,
  /** The sum of the listed entries' `size_bytes`: of this page, not of the whole namespace. */
  total_size_bytes: count,
  /** Present when more keys may follow: pass it back as `cursor` for the next page. */
  cursor: z.string().exactOptional(),
});
export type PersistentListResult = z.infer<typeof persistentListResultSchema>;

export const persistentQueryResultSchema = z.object({
  entries: z.array(
    z.object({ key: z.string(), value: jsonSchema, version, created_at: timestamp, updated_at: timestamp }),
  ),
  count,
  cursor: z.string().exactOptional(),
});
export type PersistentQueryResult = z.infer<typeof persistentQueryResultSchema>;

export const persistentHistoryResultSchema = z.object({
  versions: z.array(z.object({ value: jsonSchema, version, created_at: timestamp, updated_at: timestamp })),
  count,
});
export type PersistentHistoryResult = z.infer<typeof persistentHistoryResultSchema>;
