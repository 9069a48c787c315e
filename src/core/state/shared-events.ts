import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import type { KeyedFollowUp } from '../engine/follow-ups.ts';
import { sharedMetaOf } from './shared-records.ts';

/** The pub/sub topic of shared-state change events, the feed of `state.shared.watch`. */
export const SHARED_CHANGES_TOPIC = 'agentstate.shared.changes';
/** The pub/sub topic of the notifications every Notify-class action publishes. */
export const NOTIFICATIONS_TOPIC = 'agentstate.notifications';

const timestamp = z.iso.datetime();

/**
 * One committed change of a shared key. Delivery is at least once, so consumers dedupe
 * by `id`, which names the commit (a write that is rolled forward after a crash is
 * published with the same id). Per key, changes are published in order: by `version`,
 * and then `set` before `delete` (a delete keeps the version it removed, and a
 * re-created key continues above it); a change published again after a crash or a
 * stall may arrive after later ones, so consumers order by version too.
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

/** The event of a committed change, as the engine recorded it on its key's head (`follow-ups.ts`). */
export function changeEventOf(tenant: string, change: KeyedFollowUp): SharedChangeEvent {
  return {
    id: change.id,
    tenant,
    key: change.key,
    version: change.version,
    owner_agent: sharedMetaOf(change.meta, `${tenant}/shared/ change ${change.id}`).owner_agent,
    operation: change.deleted === true ? 'delete' : 'set',
    at: change.updated_at,
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
