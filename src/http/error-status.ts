import type { ErrorCode } from '../core/errors.ts';

/** The HTTP status of every error code: the one place the mapping lives. */
export const errorStatus: Record<ErrorCode, number> = {
  SessionNotFound: 404,
  KeyNotFound: 404,
  VersionConflict: 409,
  QuotaExceeded: 507,
  SnapshotNotFound: 404,
  BackupNotFound: 404,
  DecryptionFailed: 422,
  VaultLocked: 423,
  InvalidTimestamp: 400,
  DatabaseError: 502,
  IoError: 502,
  SubscriptionFailed: 502,
  InvalidInput: 400,
  PayloadTooLarge: 413,
  Unauthenticated: 401,
  Forbidden: 403,
  ApprovalRequired: 202,
  ChecksumMismatch: 422,
  IncompatibleVersion: 422,
  IdConflict: 409,
  SecretNotFound: 404,
  Unavailable: 503,
  RouteNotFound: 404,
  Internal: 500,
};
