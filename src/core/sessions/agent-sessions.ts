import type { KvStore } from '../../ports/kv-store.ts';
import { createKeyIndex, type KeyIndex } from '../state/key-index.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { isExpired } from './session-lifetime.ts';
import { sessionKeys } from './session-keys.ts';
import { sessionMetaSchema, type SessionMeta } from './session-records.ts';

/**
 * The sessions of one agent, newest first: a key index (`key-index.ts`) under
 * `${tenant}/a/${agent}/s/`, beside the agent's persistent state. It is written only by
 * opens and restores of that agent's sessions, so no record is shared across agents;
 * creates of one agent meet on the leaf of the newest entries, as their writers contend
 * anyway.
 *
 * An entry names one life of a session: `<inverted created_at>/<session_id>/<hard expiry>`
 * (inverted so that an ascending listing is newest first). It is added before the
 * session record commits, so every live session is listed; an entry whose commit never
 * came, or whose session ended or expired, is skipped when listed and collected once it
 * is dead for good (see `isDeadForGood`).
 */
export interface AgentSessions {
  /** Records a life of a session; call before its session record is written. */
  add(meta: Pick<SessionMeta, 'session_id' | 'created_at' | 'hard_expires_at'>): Promise<void>;
  /**
   * The live sessions, newest (by `created_at`) first, at most `limit`, after `cursor`
   * (the previous page's). A page may hold fewer than `limit` while `cursor` says more
   * follow, when dead entries filled it.
   */
  list(page?: { cursor?: string; limit?: number }): Promise<AgentSessionPage>;
}

export interface AgentSessionPage {
  readonly sessions: SessionMeta[];
  readonly cursor?: string;
}

// Above every timestamp in milliseconds this service will meet, and a safe integer.
const INVERSION = 9_000_000_000_000_000;
const DIGITS = 16;

export function agentSessions(kv: KvStore, tenant: string, agent: string, now: () => Date): AgentSessions {
  assertValidNamespaceId('tenant', tenant);
  assertValidNamespaceId('agent', agent);
  const index: KeyIndex = createKeyIndex(kv, { namespace: `${tenant}/a/${agent}/s/` });

  return {
    add: (meta) => index.add(entryOf(meta)),

    async list({ cursor, limit = 100 } = {}) {
      const page = await index.list({ limit, ...(cursor === undefined ? {} : { after: cursor }) });
      const entries = page.keys.map(parseEntry);
      const metas = await readMetas(kv, tenant, entries);
      const at = now();
      const live = entries.flatMap((entry) => {
        const meta = metas.get(entry.sessionId);
        const current =
          meta !== undefined &&
          meta.status === 'active' &&
          meta.hard_expires_at === entry.hardExpiresAt &&
          meta.agent === agent &&
          !isExpired(meta, at);
        return current ? [meta] : [];
      });
      const dead = entries.filter((entry) => isDeadForGood(entry, metas.get(entry.sessionId), at));
      if (dead.length > 0) await collect(index, kv, tenant, dead, now);
      return { sessions: live, ...(page.cursor === undefined ? {} : { cursor: page.cursor }) };
    },
  };
}

interface Entry {
  readonly key: string;
  readonly sessionId: string;
  readonly hardExpiresAt: string;
}

function entryOf(meta: Pick<SessionMeta, 'session_id' | 'created_at' | 'hard_expires_at'>): string {
  const inverted = String(INVERSION - Date.parse(meta.created_at)).padStart(DIGITS, '0');
  return `${inverted}/${meta.session_id}/${Date.parse(meta.hard_expires_at)}`;
}

function parseEntry(key: string): Entry {
  const [, sessionId = '', hardExpiry = '0'] = key.split('/');
  return { key, sessionId, hardExpiresAt: new Date(Number(hardExpiry)).toISOString() };
}

/**
 * Whether the life an entry names can never be live again: its hard expiry has passed,
 * or its record says that life ended. (A record still absent may be a create in
 * progress; a restore of the same id is another life with its own entry.)
 */
function isDeadForGood(entry: Entry, meta: SessionMeta | undefined, at: Date): boolean {
  if (at.getTime() >= Date.parse(entry.hardExpiresAt)) return true;
  return meta !== undefined && meta.status === 'ended' && meta.hard_expires_at === entry.hardExpiresAt;
}

async function readMetas(
  kv: KvStore,
  tenant: string,
  entries: readonly Entry[],
): Promise<Map<string, SessionMeta>> {
  if (entries.length === 0) return new Map();
  const keys = new Map(entries.map((entry) => [sessionKeys(tenant, entry.sessionId).meta, entry.sessionId]));
  const found = await kv.getBulk([...keys.keys()]);
  const metas = new Map<string, SessionMeta>();
  for (const [key, entry] of found) {
    const sessionId = keys.get(key);
    if (sessionId !== undefined) metas.set(sessionId, decodeRecord(sessionMetaSchema, entry, key));
  }
  return metas;
}

/** Removes dead entries, confirming on a fresh read that each is still dead (both conditions last). */
async function collect(
  index: KeyIndex,
  kv: KvStore,
  tenant: string,
  dead: readonly Entry[],
  now: () => Date,
): Promise<void> {
  const byKey = new Map(dead.map((entry) => [entry.key, entry]));
  let rest = dead.map((entry) => entry.key);
  while (rest.length > 0) {
    const step = await index.removeIf(rest, async (keys) => {
      const entries = keys.flatMap((key) => byKey.get(key) ?? []);
      const metas = await readMetas(kv, tenant, entries);
      const at = now();
      return entries.filter((e) => isDeadForGood(e, metas.get(e.sessionId), at)).map((e) => e.key);
    });
    rest = step.rest;
  }
}
