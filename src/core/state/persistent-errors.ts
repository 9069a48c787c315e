import { AppError, type RecoveryHint } from '../errors.ts';

// The recovery hints of state.persistent.* as the capability spec lists them.

const LIST_KEYS: RecoveryHint = {
  action: 'list_keys',
  description: 'Use state.persistent.list to see available keys.',
};
const USE_SESSION: RecoveryHint = {
  action: 'use_session',
  description: 'The data may be in session state — try state.session.get.',
};

/** `KeyNotFound` for `key`, with the hints of the capability that looked for it. */
export function keyNotFound(
  capability: 'get' | 'delete' | 'history',
  key: string,
  version?: number,
): AppError {
  const what =
    version === undefined ? `key ${JSON.stringify(key)}` : `version ${version} of key ${JSON.stringify(key)}`;
  return new AppError('KeyNotFound', `${what} does not exist in persistent state`, {
    recovery: capability === 'get' ? [LIST_KEYS, USE_SESSION] : [LIST_KEYS],
    details: version === undefined ? { key } : { key, version },
  });
}

/**
 * `QuotaExceeded` of the agent's state, persistent values and checkpoints together
 * (`agent-usage.ts`): `used` bytes are stored, `requested` more would pass `limit`.
 */
export function quotaExceeded(used: number, limit: number, requested: number): AppError {
  return new AppError(
    'QuotaExceeded',
    `agent state quota of ${limit} bytes (persistent state and checkpoints) exceeded: ${used} used, ${requested} more requested`,
    {
      details: { used, limit, requested },
      recovery: [
        {
          action: 'delete_unused',
          description:
            'Use state.persistent.delete to remove unneeded keys, or delete unneeded checkpoint threads.',
        },
        {
          action: 'request_increase',
          description: 'Use alerts.send to request a quota increase from the supervisor.',
        },
      ],
    },
  );
}
