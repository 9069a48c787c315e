import { z } from 'zod';
import { AppError } from '../errors.ts';

/**
 * An ISO 8601 date-time with a zone (`2026-03-25T14:00:00Z`, `...+01:00`, with or
 * without fractions), the form the spec's `since` takes.
 */
export const isoTimestampSchema = z.iso.datetime({ offset: true });

/** `text` as a `Date`; `InvalidTimestamp` (with the spec's hint) naming `what` otherwise. */
export function parseTimestamp(text: unknown, what: string): Date {
  const parsed = isoTimestampSchema.safeParse(text);
  const date = parsed.success ? new Date(parsed.data) : undefined;
  if (date === undefined || Number.isNaN(date.getTime()))
    throw new AppError(
      'InvalidTimestamp',
      `${what} ${JSON.stringify(String(text).slice(0, 80))} is not an ISO 8601 timestamp`,
    );
  return date;
}
