import Database from 'better-sqlite3';
import { AppError } from '../../core/errors.ts';

/**
 * The one place SQLite failures become agentstate errors: anything better-sqlite3
 * throws (busy after the timeout, a full disk, a corrupt file, a closed connection, a
 * row that no longer parses) is `DatabaseError`, with the original kept as `cause`.
 * An `AppError` raised on purpose inside a transaction (a failed condition, a bad key)
 * passes through unchanged.
 */
export function translateSqliteError(error: unknown, operation: string): never {
  if (error instanceof AppError) throw error;
  const code = error instanceof Database.SqliteError ? ` (${error.code})` : '';
  throw new AppError('DatabaseError', `SQLite ${operation} failed${code}`, { cause: error });
}
