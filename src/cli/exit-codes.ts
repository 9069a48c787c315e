import { CommanderError } from 'commander';
import type { ErrorCode } from '../core/errors.ts';

/**
 * The exit codes of `agentstate`, one table, documented in the README, so that a
 * Kubernetes Job (or a script) can tell what to do next without parsing messages.
 */
export const ExitCode = {
  ok: 0,
  /** Anything not below: an internal or storage failure. */
  failure: 1,
  /** The command line, or the input it names, is wrong: fix it and run again. */
  usage: 2,
  /** No valid credentials, or not allowed. */
  denied: 3,
  notFound: 4,
  /** A version or id conflict: re-read, or import with other options. */
  conflict: 5,
  /** A document failed its checksum or has a format version this build does not read. */
  integrity: 6,
  /** A backing service is unreachable: retry later. */
  unavailable: 7,
  /** Waiting for a supervisor's approval. */
  pending: 8,
} as const;

/** The exit code of every error code: exhaustive, so a new code must be placed here. */
export const exitCodeOf: Record<ErrorCode, number> = {
  SessionNotFound: ExitCode.notFound,
  KeyNotFound: ExitCode.notFound,
  VersionConflict: ExitCode.conflict,
  QuotaExceeded: ExitCode.failure,
  SnapshotNotFound: ExitCode.notFound,
  ApprovalNotFound: ExitCode.notFound,
  BackupNotFound: ExitCode.notFound,
  DecryptionFailed: ExitCode.integrity,
  VaultLocked: ExitCode.unavailable,
  InvalidTimestamp: ExitCode.usage,
  DatabaseError: ExitCode.failure,
  IoError: ExitCode.failure,
  SubscriptionFailed: ExitCode.failure,
  InvalidInput: ExitCode.usage,
  PayloadTooLarge: ExitCode.usage,
  Unauthenticated: ExitCode.denied,
  Forbidden: ExitCode.denied,
  ApprovalRequired: ExitCode.pending,
  ChecksumMismatch: ExitCode.integrity,
  IncompatibleVersion: ExitCode.integrity,
  IdConflict: ExitCode.conflict,
  SecretNotFound: ExitCode.notFound,
  Unavailable: ExitCode.unavailable,
  RouteNotFound: ExitCode.notFound,
  Internal: ExitCode.failure,
};

/** Exit code of a command line that cannot be run as given, so a Job can tell it from a failure. */
export const USAGE_EXIT_CODE = ExitCode.usage;

// Commander's own parse errors: they are usage errors too.
const usageErrors = new Set([
  'commander.unknownOption',
  'commander.unknownCommand',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.invalidArgument',
  'commander.excessArguments',
  'commander.conflictingOption',
]);

/** An `exitOverride` that makes every parse error exit with `USAGE_EXIT_CODE`. */
export function asUsageError(error: CommanderError): never {
  // `commander.help` with a non-zero code: a command group run without a subcommand.
  const usage = usageErrors.has(error.code) || (error.code === 'commander.help' && error.exitCode !== 0);
  if (usage) throw new CommanderError(USAGE_EXIT_CODE, error.code, error.message);
  throw error;
}
