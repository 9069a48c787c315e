/**
 * The closed set of error codes agentstate answers with, on every surface and from
 * every adapter. The HTTP status of each code lives in `src/http/error-status.ts`;
 * recovery hints follow the capability spec so an agent can act on them.
 */
export const ErrorCode = {
  SessionNotFound: 'SessionNotFound',
  KeyNotFound: 'KeyNotFound',
  VersionConflict: 'VersionConflict',
  QuotaExceeded: 'QuotaExceeded',
  SnapshotNotFound: 'SnapshotNotFound',
  ApprovalNotFound: 'ApprovalNotFound',
  BackupNotFound: 'BackupNotFound',
  DecryptionFailed: 'DecryptionFailed',
  VaultLocked: 'VaultLocked',
  InvalidTimestamp: 'InvalidTimestamp',
  DatabaseError: 'DatabaseError',
  IoError: 'IoError',
  SubscriptionFailed: 'SubscriptionFailed',
  InvalidInput: 'InvalidInput',
  PayloadTooLarge: 'PayloadTooLarge',
  Unauthenticated: 'Unauthenticated',
  Forbidden: 'Forbidden',
  ApprovalRequired: 'ApprovalRequired',
  ChecksumMismatch: 'ChecksumMismatch',
  IncompatibleVersion: 'IncompatibleVersion',
  IdConflict: 'IdConflict',
  SecretNotFound: 'SecretNotFound',
  Unavailable: 'Unavailable',
  RouteNotFound: 'RouteNotFound',
  Internal: 'Internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface RecoveryHint {
  readonly action: string;
  readonly description: string;
}

export interface AppErrorOptions {
  /** The foreign error this one translates; kept for logs, never sent to callers. */
  cause?: unknown;
  /** Overrides the default hints of the code, for errors whose recovery depends on the capability. */
  recovery?: readonly RecoveryHint[];
  /** Machine-readable facts a caller can act on, e.g. `{ current_version: 7 }`. */
  details?: Readonly<Record<string, unknown>>;
}

const defaultRecovery: Record<ErrorCode, readonly RecoveryHint[]> = {
  SessionNotFound: [{ action: 'reconnect', description: 'Establish a new session via the Gateway.' }],
  KeyNotFound: [{ action: 'list_keys', description: 'List the available keys first.' }],
  VersionConflict: [
    { action: 'retry', description: 'Re-read the key to get its current version and retry with it.' },
  ],
  QuotaExceeded: [{ action: 'delete_unused', description: 'Delete keys that are no longer needed.' }],
  SnapshotNotFound: [
    { action: 'list_snapshots', description: 'Use state.snapshot.list to see available snapshots.' },
  ],
  ApprovalNotFound: [
    {
      action: 'list_approvals',
      description: 'Use GET /v1/approvals (agentstate approvals list) to see them.',
    },
  ],
  BackupNotFound: [{ action: 'list_backups', description: 'List the available backups.' }],
  DecryptionFailed: [
    {
      action: 'check_vault',
      description: 'Make sure the vault master key is the one the backup was made with.',
    },
  ],
  VaultLocked: [
    { action: 'unlock_vault', description: 'Provide the vault master key through the secret store.' },
  ],
  InvalidTimestamp: [{ action: 'fix_format', description: 'Use ISO 8601 format: YYYY-MM-DDTHH:MM:SSZ' }],
  DatabaseError: [
    { action: 'retry', description: 'Retry the operation. If the error persists, check the state store.' },
  ],
  IoError: [{ action: 'check_disk', description: 'Check that the blob store is reachable and has space.' }],
  SubscriptionFailed: [{ action: 'retry', description: 'Retry the subscription.' }],
  InvalidInput: [
    { action: 'fix_input', description: 'Correct the request as the message says and send it again.' },
  ],
  PayloadTooLarge: [
    { action: 'reduce_size', description: 'Store less data in one value, or split it over several keys.' },
  ],
  Unauthenticated: [
    {
      action: 'authenticate',
      description: 'Send a valid bearer token or call through Dapr with the app API token.',
    },
  ],
  Forbidden: [{ action: 'request_access', description: 'Ask an operator for the role this action needs.' }],
  ApprovalRequired: [
    { action: 'await_approval', description: 'A supervisor or operator must approve the pending request.' },
  ],
  ChecksumMismatch: [
    { action: 'reexport', description: 'The document was altered or truncated; export it again.' },
  ],
  IncompatibleVersion: [
    { action: 'upgrade', description: 'Use an agentstate version that reads this format version.' },
  ],
  IdConflict: [
    { action: 'remap_ids', description: 'Import with preserve_ids=false or a different target id.' },
  ],
  SecretNotFound: [
    { action: 'create_secret', description: 'Create the named secret in the configured secret store.' },
  ],
  Unavailable: [{ action: 'retry', description: 'A backing service is unreachable; retry shortly.' }],
  RouteNotFound: [
    { action: 'check_url', description: 'See /openapi.json for the routes this service answers.' },
  ],
  Internal: [
    { action: 'retry', description: 'An unexpected error occurred; retry, and report it if it persists.' },
  ],
};

/** The one error type of agentstate. Adapters translate foreign errors into it. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly recovery: readonly RecoveryHint[];
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.recovery = options.recovery ?? defaultRecovery[code];
    this.details = options.details;
  }
}

export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}
