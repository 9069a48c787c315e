import type { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { parseInput } from '../core/parse-input.ts';
import { assertChecksum } from './checksum.ts';

/** How a portable format names and bounds its version. */
export interface DocumentFormat<T> {
  /** Says what the document is, in messages: `session snapshot`. */
  readonly what: string;
  /** The field holding the version: `schema_version` or `format_version`. */
  readonly versionField: string;
  /** The versions this build reads. */
  readonly readable: readonly number[];
  readonly schema: z.ZodType<T>;
}

/**
 * Decodes a portable document from its JSON text or parsed value, in the order that
 * gives the truest error: not JSON (`InvalidInput`, e.g. a truncated file), a version
 * this build cannot read (`IncompatibleVersion`: a newer format may checksum and shape
 * itself differently), a checksum that does not match (`ChecksumMismatch`: any byte
 * changed), then the shape (`InvalidInput`, unknown fields included). Nothing trusted
 * before all four pass.
 */
export function decodeDocument<T>(format: DocumentFormat<T>, input: unknown): T {
  const value = typeof input === 'string' ? parseJsonText(input, format.what) : input;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AppError('InvalidInput', `the ${format.what} must be a JSON object`);
  const record = value as Record<string, unknown>;
  const version = record[format.versionField];
  if (version === undefined)
    throw new AppError('InvalidInput', `the ${format.what} has no ${format.versionField}`);
  if (typeof version !== 'number' || !format.readable.includes(version))
    throw new AppError(
      'IncompatibleVersion',
      `${format.what} ${format.versionField} ${JSON.stringify(version)} is not one this agentstate reads (${format.readable.join(', ')})`,
      { details: { [format.versionField]: version, readable: format.readable } },
    );
  assertChecksum(record, format.what);
  return parseInput(format.schema, record, format.what);
}

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('InvalidInput', `the ${what} is not valid JSON (truncated or damaged?)`, {
      cause: error,
    });
  }
}
