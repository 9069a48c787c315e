import { retryOnConflict } from '../core/state/cas-retry.ts';
import { decodeRecord } from '../core/state/stored-record.ts';
import { agentSessions } from '../core/sessions/agent-sessions.ts';
import { dataTtlSeconds, recordTtlSeconds } from '../core/sessions/session-lifetime.ts';
import { EVENTS, MESSAGES } from '../core/sessions/session-logs.ts';
import { sessionKeys, type SessionKeys } from '../core/sessions/session-keys.ts';
import { sessionMetaSchema, type SessionMeta } from '../core/sessions/session-records.ts';
import type { Message, SessionEvent } from '../core/sessions/session-schemas.ts';
import type { KvOperation, KvStore } from '../ports/kv-store.ts';
import { OPERATIONS_PER_TRANSACTION, transactionBatches } from '../core/engine/transaction-batches.ts';

/** One session as a restore writes it: under its own id, with its own timestamps. */
export interface SessionImage {
  readonly tenant: string;
  readonly agent: string;
  readonly sessionId: string;
  readonly createdAt: string;
  /** Numbered 1..n. */
  readonly messages: readonly Message[];
  /** Numbered 1..n. */
  readonly events: readonly SessionEvent[];
}

export interface SessionLifetime {
  readonly idleTimeoutSeconds: number;
  readonly maxLifetimeSeconds: number;
}

// Records probed per read when looking for what an earlier life of the id left.
const PROBE_BATCH = 256;

/**
 * Makes session `image.sessionId` of `image.tenant` a live session holding exactly the
 * image's messages and events, with its id, `created_at` and record timestamps, and a
 * new lifetime from now (a restored session is as alive as a new one). Whatever the id
 * held before is replaced: its key-values become unreachable (a snapshot holds none),
 * and records above the image's logs that an earlier life left are deleted, so that a
 * later append cannot adopt one of them (`append-log.ts` commits a record it finds at
 * count + 1).
 *
 * The session record is the commit point, written last with one compare-and-swap, as
 * every session change is: a restore cut short leaves the session as it was (absent,
 * or its earlier life) and the same restore run again finishes it. Readers of a live
 * session being replaced may see its new records before the commit; nobody else does.
 *
 * This writes the session's records itself because `Sessions` creates sessions only
 * under random ids and timestamps of now; it belongs in `src/core/sessions` as
 * `Sessions.restore` once that module takes it.
 */
export async function restoreSessionImage(
  kv: KvStore,
  lifetime: SessionLifetime,
  image: SessionImage,
  now: () => Date = () => new Date(),
): Promise<void> {
  const keys = sessionKeys(image.tenant, image.sessionId);
  const at = now();
  const meta: SessionMeta = {
    session_id: image.sessionId,
    tenant: image.tenant,
    agent: image.agent,
    status: 'active',
    created_at: image.createdAt,
    last_active_at: at.toISOString(),
    idle_timeout_seconds: lifetime.idleTimeoutSeconds,
    hard_expires_at: new Date(at.getTime() + lifetime.maxLifetimeSeconds * 1000).toISOString(),
    message_count: image.messages.length,
    event_count: image.events.length,
    kv_generation: 0,
  };
  const ttlSeconds = dataTtlSeconds(meta, at);
  // Made a batch at a time, so that a long session is not also held as its operations.
  function* records(): Generator<KvOperation> {
    for (const m of image.messages) yield save(MESSAGES.key(keys, m.seq), m, ttlSeconds);
    for (const e of image.events) yield save(EVENTS.key(keys, e.seq), e, ttlSeconds);
  }
  for (const batch of transactionBatches(records())) await kv.transact(batch);
  await deleteLeftovers(kv, keys, image);
  await agentSessions(kv, image.tenant, image.agent, now).add(meta);
  await retryOnConflict(`restore of ${keys.meta}`, async () => {
    const entry = await kv.get(keys.meta);
    const previous = entry === undefined ? undefined : decodeRecord(sessionMetaSchema, entry, keys.meta);
    const restored = { ...meta, kv_generation: freshGeneration(previous, at) };
    const ttl = { ttlSeconds: recordTtlSeconds(restored, at) };
    await kv.save(
      keys.meta,
      restored,
      entry === undefined ? { ...ttl, ifAbsent: true } : { ...ttl, etag: entry.etag },
    );
  });
}

/**
 * A key-value generation no earlier life of the id used. After the previous session
 * record is gone (it expires at the idle timeout, its key-values only at the hard
 * expiry) the generation it had is unknown, so the generation is the restore time in
 * milliseconds: `clear` moves a generation by one, which never reaches it.
 */
function freshGeneration(previous: SessionMeta | undefined, at: Date): number {
  return Math.max(at.getTime(), (previous?.kv_generation ?? 0) + 1);
}

/** Deletes the records of both logs above the image's, which an earlier life left. */
async function deleteLeftovers(kv: KvStore, keys: SessionKeys, image: SessionImage): Promise<void> {
  for (const [key, count] of [
    [(seq: number) => MESSAGES.key(keys, seq), image.messages.length],
    [(seq: number) => EVENTS.key(keys, seq), image.events.length],
  ] as const) {
    // Logs have no gaps, so the leftovers are the records from count + 1 up to the first absent one.
    for (let from = count + 1; ; from += PROBE_BATCH) {
      const probe = Array.from({ length: PROBE_BATCH }, (_, i) => key(from + i));
      const found = await kv.getBulk(probe);
      const present = probe.filter((storeKey) => found.has(storeKey));
      for (let start = 0; start < present.length; start += OPERATIONS_PER_TRANSACTION)
        await kv.transact(
          present
            .slice(start, start + OPERATIONS_PER_TRANSACTION)
            .map((k) => ({ op: 'delete' as const, key: k })),
        );
      if (present.length < PROBE_BATCH) break;
    }
  }
}

function save(key: string, value: Message | SessionEvent, ttlSeconds: number): KvOperation {
  return { op: 'save', key, value, options: { ttlSeconds } };
}
