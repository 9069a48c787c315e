import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import type { SharedHead } from './shared-records.ts';

/** The pub/sub topic of shared-state change events, the feed of `state.shared.watch`. */
export const SHARED_CHANGES_TOPIC = 'agentstate.shared.changes';
/** The pub/sub topic of the notifications every Notify-class action publishes. */
export const NOTIFICATIONS_TOPIC = 'agentstate.notifications';

const timestamp = z.iso.datetime();

/**
 * One committed change of a shared key. Delivery is at least once, so consumers dedupe
 * by `id`, which names the commit (a write that is rolled forward after a crash is
 * published with the same id). Order is not guaranteed; per key, changes order by
 * `version` and then `set` before `delete`: a delete keeps the version it removed, and
 * a re-created key continues above it.
 */
export const sharedChangeEventSchema = z.object({
  id: z.uuid(),
  tenant: idSchema,
  key: z.string(),
  /** For a set, the version written; for a delete, the version removed. */
  version: z.int().min(1),
  /** The agent that made the change: the writer of a set, the deleter of a delete. */
  owner_agent: idSchema,
  operation: z.enum(['set', 'delete']),
  /** When the change was committed. */
  at: timestamp,
});
export type SharedChangeEvent = z.infer<typeof sharedChangeEventSchema>;

/**
 * The notification of a Notify-class shared write. `id` is the change event's, so a
 * consumer can dedupe redeliveries and match the two.
 */
export const sharedNotificationSchema = z.object({
  id: z.uuid(),
  kind: z.enum(['state.shared.set', 'state.shared.delete']),
  tenant: idSchema,
  agent: idSchema,
  key: z.string(),
  version: z.int().min(1),
  at: timestamp,
});
export type SharedNotification = z.infer<typeof sharedNotificationSchema>;

/** The change a committed head records, identified by its intent's `id`. */
export function changeEventOf(tenant: string, head: SharedHead, id: string): SharedChangeEvent {
  return {
    id,
    tenant,
    key: head.key,
    version: head.version,
    owner_agent: head.owner_agent,
    operation: head.deleted === true ? 'delete' : 'set',
    at: head.updated_at,
  };
}

/** The notification of a committed change. */
export function notificationOf(event: SharedChangeEvent): SharedNotification {
  return {
    id: event.id,
    kind: event.operation === 'set' ? 'state.shared.set' : 'state.shared.delete',
    tenant: event.tenant,
    agent: event.owner_agent,
    key: event.key,
    version: event.version,
    at: event.at,
  };
}
