import type { SessionMeta } from './session-records.ts';

// When a session ends by itself, and how long its records live in the store.
//
// A session ends at the earlier of two instants: `idle_timeout_seconds` after its
// recorded `last_active_at`, and its `hard_expires_at`. Calls refresh `last_active_at`,
// but at most once per tenth of the idle timeout, so that most reads write nothing. So a
// session stays alive as long as calls come less than 0.9 x the idle timeout apart, and
// never lives longer than the idle timeout after its last call. The store's TTL removes
// the records at those instants (rounded up to whole seconds); the checks here make the
// answer exact whatever the store's TTL granularity.

/** A refresh is due once this fraction of the idle timeout has passed since the last one. */
const REFRESH_EVERY = 1 / 10;

/** The instant, in milliseconds since the epoch, at which the session ends unless refreshed. */
export function expiresAt(meta: SessionMeta): number {
  return Math.min(
    Date.parse(meta.last_active_at) + meta.idle_timeout_seconds * 1000,
    Date.parse(meta.hard_expires_at),
  );
}

export function isExpired(meta: SessionMeta, now: Date): boolean {
  return now.getTime() >= expiresAt(meta);
}

/** Whether a call at `now` must write a new `last_active_at`. */
export function refreshDue(meta: SessionMeta, now: Date): boolean {
  return now.getTime() - Date.parse(meta.last_active_at) >= meta.idle_timeout_seconds * 1000 * REFRESH_EVERY;
}

/** The TTL of a session record saved at `now`, which carries `last_active_at = now`. */
export function recordTtlSeconds(meta: SessionMeta, now: Date): number {
  return secondsUntil(expiresAt(meta), now);
}

/** The TTL of every other record of the session: it outlives the session by nothing. */
export function dataTtlSeconds(meta: SessionMeta, now: Date): number {
  return secondsUntil(Date.parse(meta.hard_expires_at), now);
}

/** Whole seconds from `now` to `at`, rounded up (a store TTL never cuts a session short), at least 1. */
function secondsUntil(at: number, now: Date): number {
  return Math.max(1, Math.ceil((at - now.getTime()) / 1000));
}
