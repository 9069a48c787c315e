/**
 * Named secrets: the vault master key and the token signing key.
 *
 * Semantics every adapter keeps (checked by `secretSourceConformance`):
 * - `get` answers the secret's value as a string.
 * - A secret that does not exist is `SecretNotFound`; a store that cannot be reached or
 *   is not configured is `Unavailable`. Callers tell the two apart (a missing vault key
 *   means the vault is locked; an unreachable store means retry).
 *
 * Left out on purpose: writing secrets and listing them (secret values never leave the
 * store through agentstate).
 */
export interface SecretSource {
  readonly name: string;

  init(): Promise<void>;
  close(): Promise<void>;

  get(name: string): Promise<string>;
}
