import { assertValidNamespaceId } from '../state/user-key.ts';

/** Sequence numbers are zero-padded in store keys so that they sort. */
const SEQ_DIGITS = 12;

/**
 * Where watches live in the store:
 * - `${tenant}/watch/i/...`: the key index (`createKeyIndex`) of the agents of the tenant
 *   that have subscribed, which is what a delivery reads to find subscriptions;
 * - `${tenant}/a/${agent}/w/s`: the agent's subscriptions, one record (bounded by the
 *   per-agent limit), the commit point of `subscribe`;
 * - `${tenant}/a/${agent}/w/h`: the head of the agent's inbox, the commit point of every
 *   delivery and acknowledgement;
 * - `${tenant}/a/${agent}/w/e/<seq>`: inbox entry `seq`.
 *
 * Tenants and agents match `idSchema`, so neither contains a `/`.
 */
export interface WatchKeys {
  /** The namespace of the tenant's index of subscribed agents. */
  readonly indexNamespace: string;
  readonly subscriptions: (agent: string) => string;
  inbox(agent: string): InboxKeys;
}

export interface InboxKeys {
  readonly head: string;
  readonly entry: (seq: number) => string;
}

/** Throws `InvalidInput` unless `tenant` (and, when asked for, each agent) is a valid id. */
export function watchKeys(tenant: string): WatchKeys {
  assertValidNamespaceId('tenant', tenant);
  const agentPrefix = (agent: string) => {
    assertValidNamespaceId('agent', agent);
    return `${tenant}/a/${agent}/w/`;
  };
  return {
    indexNamespace: `${tenant}/watch/`,
    subscriptions: (agent) => `${agentPrefix(agent)}s`,
    inbox(agent) {
      const prefix = agentPrefix(agent);
      return {
        head: `${prefix}h`,
        entry: (seq) => `${prefix}e/${String(seq).padStart(SEQ_DIGITS, '0')}`,
      };
    },
  };
}
