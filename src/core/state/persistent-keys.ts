import { assertValidNamespaceId } from './user-key.ts';

/**
 * The store prefix of one agent's persistent state, `${tenant}/a/${agent}/p/`; the
 * engine lays out its records under it (`engine-keys.ts`). Throws `InvalidInput` unless
 * tenant and agent are valid ids.
 */
export function persistentNamespace(tenant: string, agent: string): string {
  assertValidNamespaceId('tenant', tenant);
  assertValidNamespaceId('agent', agent);
  return `${tenant}/a/${agent}/p/`;
}
