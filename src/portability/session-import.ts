import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AppError, isAppError } from '../core/errors.ts';
import { canAccessAgentScope } from '../core/identity/authorize.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { Sessions } from '../core/sessions/sessions.ts';
import { decodeDocument } from './portable-document.ts';
import { readSessionContent, type SessionContent } from './session-reader.ts';
import { sessionSnapshotFormat, type SessionSnapshot } from './session-snapshot.ts';
import type { StateWriter } from './state-writer.ts';

const count = z.number().int().nonnegative();

const logChangeSchema = z.strictObject({
  added: count.describe('Records the session does not have yet.'),
  replaced: count.describe('Records of the same seq with other content.'),
  unchanged: count.describe('Records already exactly as in the snapshot.'),
  removed: count.describe('Records of the session beyond the snapshot’s, which the restore drops.'),
});
export type LogChange = z.infer<typeof logChangeSchema>;

/** What a restore changed, or with `dry_run` would change (the answer of `POST /v1/snapshots/restore`). */
export const sessionRestoreReportSchema = z.strictObject({
  dry_run: z.boolean(),
  tenant_id: z.string(),
  agent_id: z.string(),
  session_id: z.string().describe('The session restored, under the id the snapshot has.'),
  messages: logChangeSchema,
  events: logChangeSchema,
  status: z.strictObject({
    from: z.enum(['active', 'absent']).describe('Whether a live session of that id is replaced.'),
    to: z.literal('active'),
  }),
  session_keys_removed: count.describe('Session key-values the restore drops: a snapshot holds none.'),
  messages_restored: count.describe('Messages written (0 on a dry run).'),
  events_restored: count.describe('Events written (0 on a dry run).'),
});
export type SessionRestoreReport = z.infer<typeof sessionRestoreReportSchema>;

/**
 * Restores a session snapshot (JSON text or parsed) under its own tenant, agent and
 * session id: decoded and verified first (`decodeDocument`: version, checksum, shape),
 * then authorized (the caller must write the snapshot's agent in the snapshot's tenant,
 * `Forbidden` otherwise), then compared with the live session of that id, which it
 * replaces (that session only). A live session of that id belonging to another agent
 * is `IdConflict`. With `dryRun` nothing is written.
 */
export async function restoreSessionSnapshot(
  sessions: Sessions,
  writer: StateWriter,
  caller: Caller,
  input: unknown,
  dryRun: boolean,
): Promise<SessionRestoreReport> {
  const snapshot = decodeDocument(sessionSnapshotFormat, input);
  canAccessAgentScope(caller, snapshot.tenant_id, snapshot.agent_id, 'write');
  const current = await readReplaced(sessions, snapshot);
  const plan = {
    dry_run: dryRun,
    tenant_id: snapshot.tenant_id,
    agent_id: snapshot.agent_id,
    session_id: snapshot.session_id,
    messages: compareLog(current?.messages ?? [], snapshot.messages),
    events: compareLog(current?.events ?? [], snapshot.events),
    status: { from: current === undefined ? 'absent' : 'active', to: 'active' },
    session_keys_removed: current?.keys ?? 0,
  } as const;
  if (dryRun) return { ...plan, messages_restored: 0, events_restored: 0 };
  await writer.writeSession({
    tenant: snapshot.tenant_id,
    agent: snapshot.agent_id,
    sessionId: snapshot.session_id,
    createdAt: snapshot.created_at,
    messages: snapshot.messages,
    events: snapshot.events,
  });
  return { ...plan, messages_restored: snapshot.messages.length, events_restored: snapshot.events.length };
}

/** The live session the snapshot would replace, with its count of key-values, or `undefined`. */
async function readReplaced(
  sessions: Sessions,
  snapshot: SessionSnapshot,
): Promise<(SessionContent & { keys: number }) | undefined> {
  const { tenant_id: tenant, session_id: id } = snapshot;
  const access = (session: { agent: string }) => {
    if (session.agent !== snapshot.agent_id)
      throw new AppError(
        'IdConflict',
        `session ${id} is live in tenant ${tenant} for another agent; it is not this snapshot's to replace`,
        { details: { conflicts: [`session ${id}`] } },
      );
  };
  let content: SessionContent;
  try {
    content = await readSessionContent(sessions, tenant, id, access);
  } catch (error) {
    if (isAppError(error, 'SessionNotFound')) return undefined;
    throw error;
  }
  let keys = 0;
  const state = sessions.state(tenant, id, access);
  for (let cursor: string | undefined; ;) {
    const page = await state.list(cursor === undefined ? {} : { cursor });
    keys += page.count;
    if (page.cursor === undefined) break;
    cursor = page.cursor;
  }
  return { ...content, keys };
}

/** How the records of `current` change into those of `next`, matched by `seq`. */
function compareLog<R extends { seq: number }>(current: readonly R[], next: readonly R[]): LogChange {
  let replaced = 0;
  let unchanged = 0;
  for (const record of next) {
    const before = current[record.seq - 1];
    if (before === undefined) continue;
    if (isDeepStrictEqual(before, record)) unchanged++;
    else replaced++;
  }
  const matched = replaced + unchanged;
  return { added: next.length - matched, replaced, unchanged, removed: current.length - matched };
}
