import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { KvStore } from '../../ports/kv-store.ts';
import type { Json } from '../json.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';
import { callerSchema, type Caller } from './caller.ts';

/** One refused request: every denied request is audited. */
export const denialRecordSchema = z.object({
  id: z.uuid(),
  tenant: z.string(),
  at: z.iso.datetime(),
  caller: callerSchema,
  /** The capability, or the REST route, that was refused. */
  action: z.string(),
  /** Why, as the `Forbidden` error said it. */
  reason: z.string(),
});
export type DenialRecord = z.infer<typeof denialRecordSchema>;

/**
 * The denials of a tenant, under `${tenant}/audit-denied/`: `r/<id>` holds the record
 * and a key index (`i/...`) lists `<at>/<id>` in time order. Written in the caller's
 * tenant: a caller only ever reaches its own tenant, so that is whose trail shows who
 * tried what. The record is written before its index entry, so every listed entry has one.
 */
export interface DenialAudit {
  record(caller: Caller, action: string, reason: string): Promise<DenialRecord>;
  /** The tenant's denials, oldest first, one page at a time. */
  list(tenant: string, options?: { limit?: number; cursor?: string }): Promise<DenialPage>;
}

export interface DenialPage {
  readonly records: DenialRecord[];
  readonly cursor?: string;
}

export function createDenialAudit(kv: KvStore, now: () => Date = () => new Date()): DenialAudit {
  const namespace = (tenant: string) => {
    assertValidNamespaceId('tenant', tenant);
    return `${tenant}/audit-denied/`;
  };
  return {
    async record(caller, action, reason) {
      const record: DenialRecord = {
        id: randomUUID(),
        tenant: caller.tenant,
        at: now().toISOString(),
        caller,
        action,
        reason,
      };
      const space = namespace(caller.tenant);
      // The record as stored: JSON has no `undefined`, so unset optional fields are left out.
      const stored = JSON.parse(JSON.stringify(record)) as Json;
      await kv.save(`${space}r/${record.id}`, stored);
      await createKeyIndex(kv, { namespace: space }).add(`${record.at}/${record.id}`);
      return record;
    },
    async list(tenant, options = {}) {
      const space = namespace(tenant);
      const page = await createKeyIndex(kv, { namespace: space }).list({
        ...(options.limit === undefined ? {} : { limit: options.limit }),
        ...(options.cursor === undefined ? {} : { after: options.cursor }),
      });
      const recordKeys = page.keys.map((entry) => `${space}r/${entry.slice(entry.indexOf('/') + 1)}`);
      const found = await kv.getBulk(recordKeys);
      const records = recordKeys.flatMap((key) => {
        const entry = found.get(key);
        return entry === undefined ? [] : [denialRecordSchema.parse(entry.value)];
      });
      return page.cursor === undefined ? { records } : { records, cursor: page.cursor };
    },
  };
}
