import { z } from 'zod';
import { idSchema } from '../identity/caller.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createKeyIndex, type KeyIndex } from './key-index.ts';
import type { SharedChangeEvent } from './shared-events.ts';
import { assertValidNamespaceId } from './user-key.ts';

/**
 * One audited action (every Notify action is audited). Keyed by
 * the id of the change it records, so writing it again — a roll-forward after a crash,
 * or a helper finishing another writer's change — writes the same bytes.
 */
export const auditRecordSchema = z.object({
  id: z.uuid(),
  tenant: idSchema,
  at: z.iso.datetime(),
  /** Who acted. */
  agent: idSchema,
  /** The capability that ran. */
  action: z.enum(['state.shared.set', 'state.shared.delete']),
  permission: z.literal('notify'),
  key: z.string(),
  version: z.int().min(1),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/**
 * Where a tenant's audit trail lives, under `${tenant}/audit/`:
 * - `r/<id>`: the record of the action `id`;
 * - `i/...`: a key index (`createKeyIndex`) of `<at>/<id>`, so the trail lists in time
 *   order (ISO timestamps sort as text) without scanning the store.
 * The record is written before its index entry, so every listed entry has its record.
 */
export interface AuditTrail {
  /** Writes the record and indexes it; writing it again changes nothing. */
  write(record: AuditRecord): Promise<void>;
  /** The records' index; listing answers `<at>/<id>` keys, oldest first. */
  readonly index: KeyIndex;
  /** The store key of the record `id`. */
  recordKey(id: string): string;
}

/** Throws `InvalidInput` unless `tenant` is a valid id. */
export function createAuditTrail(kv: KvStore, tenant: string): AuditTrail {
  assertValidNamespaceId('tenant', tenant);
  const namespace = `${tenant}/audit/`;
  const index = createKeyIndex(kv, { namespace });
  const recordKey = (id: string) => `${namespace}r/${id}`;
  return {
    index,
    recordKey,
    async write(record) {
      await kv.save(recordKey(record.id), record);
      await index.add(`${record.at}/${record.id}`);
    },
  };
}

/** The audit record of a committed shared change. */
export function auditRecordOf(event: SharedChangeEvent): AuditRecord {
  return {
    id: event.id,
    tenant: event.tenant,
    at: event.at,
    agent: event.owner_agent,
    action: event.operation === 'set' ? 'state.shared.set' : 'state.shared.delete',
    permission: 'notify',
    key: event.key,
    version: event.version,
  };
}
