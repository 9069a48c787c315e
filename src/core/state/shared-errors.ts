import { AppError, type RecoveryHint } from '../errors.ts';

// The errors of state.shared.* with the recovery hints the capability spec lists.

const LIST_KEYS: RecoveryHint = {
  action: 'list_keys',
  description: 'Use state.shared.list to see available shared keys.',
};

/** `KeyNotFound` for a `delete` of a key that is not live. */
export function sharedKeyNotFound(key: string): AppError {
  return new AppError('KeyNotFound', `key ${JSON.stringify(key)} does not exist in shared state`, {
    recovery: [LIST_KEYS],
    details: { key },
  });
}

/**
 * `VersionConflict`: the key is at `current` (0 if it does not exist), not at the
 * `expected` version the caller read. `details.current_version` lets a client retry
 * without another read, though the spec's hint is to re-read the value too.
 */
export function sharedVersionConflict(key: string, expected: number, current: number): AppError {
  const state = current === 0 ? 'does not exist' : `is at version ${current}`;
  return new AppError(
    'VersionConflict',
    `shared key ${JSON.stringify(key)} ${state}, not at the expected version ${expected}`,
    {
      details: { key, expected_version: expected, current_version: current },
      recovery: [
        {
          action: 'retry',
          description: 'Re-read the key with state.shared.get and retry with the new version.',
        },
      ],
    },
  );
}

/** `QuotaExceeded`: `used` bytes are stored, `requested` more would pass `limit`. */
export function sharedQuotaExceeded(used: number, limit: number, requested: number): AppError {
  return new AppError(
    'QuotaExceeded',
    `shared state quota of ${limit} bytes exceeded: ${used} used, ${requested} more requested`,
    {
      details: { used, limit, requested },
      recovery: [
        { action: 'delete_unused', description: 'Use state.shared.delete to remove unneeded shared keys.' },
        { action: 'request_increase', description: 'Use alerts.send to request a quota increase.' },
      ],
    },
  );
}
