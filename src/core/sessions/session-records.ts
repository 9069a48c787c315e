import { z } from 'zod';

// The records of sessions as they are stored. Everything read back from the store is
// decoded with these schemas (or, for messages and events, with their answer schemas),
// never trusted: a record that does not match is a damaged store, DatabaseError.

const timestamp = z.iso.datetime();
const count = z.number().int().nonnegative();

/**
 * The session record. Every change of it is one compare-and-swap that also refreshes
 * `last_active_at` and the record's TTL, so an idle session's record expires by itself.
 * `end` turns it into a tombstone (`status: 'ended'`) rather than deleting it: on Redis a
 * compare-and-swap with a stale ETag on a missing key inserts, which would bring an
 * ended session back.
 */
export const sessionMetaSchema = z.object({
  session_id: z.uuid(),
  tenant: z.string(),
  agent: z.string(),
  status: z.enum(['active', 'ended']),
  created_at: timestamp,
  last_active_at: timestamp,
  idle_timeout_seconds: z.number().int().positive(),
  hard_expires_at: timestamp,
  /** The last committed message; records above it are not part of the log (yet). */
  message_count: count,
  event_count: count,
  /** The generation of key-values in use; `clear` moves to the next one. */
  kv_generation: count,
});
export type SessionMeta = z.infer<typeof sessionMetaSchema>;
