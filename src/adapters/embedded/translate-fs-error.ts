import { AppError } from '../../core/errors.ts';

/**
 * The one place file-system failures of the folder blob store become agentstate
 * errors: every one is `IoError` (full disk, permissions, a damaged tree), naming the
 * system error code and keeping the original as `cause`. An `AppError` raised on
 * purpose passes through unchanged.
 */
export function translateFsError(error: unknown, operation: string, key: string): never {
  if (error instanceof AppError) throw error;
  const code = errnoCode(error);
  throw new AppError(
    'IoError',
    `blob ${operation} of ${JSON.stringify(key.slice(0, 80))} failed${code ? ` (${code})` : ''}`,
    {
      cause: error,
    },
  );
}

/** The `code` of a Node.js system error such as `ENOENT`, if `error` is one. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
