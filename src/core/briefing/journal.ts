import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { KvStore } from '../../ports/kv-store.ts';
import { idSchema } from '../identity/caller.ts';
import { jsonSchema } from '../json.ts';
import { createDayLog, type DayLog } from '../state/day-log.ts';
import { assertValidNamespaceId } from '../state/user-key.ts';
import { isoTimestampSchema } from '../approvals/timestamp.ts';

const text = (max: number) => z.string().min(1).max(max);

/** What every entry may carry: for the whole tenant or one `agent`, `at` (default: on arrival). */
const common = {
  at: isoTimestampSchema.exactOptional(),
  agent: idSchema.exactOptional(),
  /** Anything else the poster wants a reader to have. */
  data: z.record(z.string(), jsonSchema).exactOptional(),
};

/** A file or folder another system saw change (a sidecar watching a workspace, say). */
const filesystemChange = {
  kind: z.literal('filesystem_change'),
  path: text(4096),
  change: z.enum(['created', 'modified', 'deleted', 'renamed']),
  /** The former path of a rename. */
  from_path: text(4096).exactOptional(),
};

/** A process another system saw start, stop or fail. */
const processEvent = {
  kind: z.literal('process_event'),
  process: text(256),
  event: z.enum(['started', 'exited', 'crashed', 'restarted']),
  exit_code: z.int().exactOptional(),
};

/** An alert raised by a monitor or a supervisor. */
const alert = {
  kind: z.literal('alert'),
  severity: z.enum(['info', 'warning', 'critical']),
  title: text(256),
  message: text(4096).exactOptional(),
};

/** What `POST /v1/journal` takes: one typed entry; unknown fields are refused. */
export const journalInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, ...filesystemChange }),
  z.strictObject({ ...common, ...processEvent }),
  z.strictObject({ ...common, ...alert }),
]);
export type JournalInput = z.infer<typeof journalInputSchema>;

/** A journal entry as stored and answered: the input, with its id, time and poster. */
const stamped = { ...common, id: z.uuid(), at: z.iso.datetime(), posted_by: idSchema };
export const journalEntrySchema = z.discriminatedUnion('kind', [
  z.object({ ...stamped, ...filesystemChange }),
  z.object({ ...stamped, ...processEvent }),
  z.object({ ...stamped, ...alert }),
]);
export type JournalEntry = z.infer<typeof journalEntrySchema>;

/**
 * A tenant's journal of what other systems report (filesystem changes, process events,
 * alerts), read by briefings and snapshots: a day log (`day-log.ts`) under
 * `${tenant}/journal/`, with the audit trail's retention.
 */
export interface Journal {
  post(input: JournalInput, postedBy: string): Promise<JournalEntry>;
  /** Entries with `from <= at < to`, in time order. */
  between(from: Date, to: Date): Promise<JournalEntry[]>;
}

export function createJournal(
  kv: KvStore,
  tenant: string,
  options: { retentionDays?: number; now?: () => Date } = {},
): Journal {
  assertValidNamespaceId('tenant', tenant);
  const { now = () => new Date(), retentionDays } = options;
  const log: DayLog<JournalEntry> = createDayLog(kv, `${tenant}/journal/`, journalEntrySchema, {
    ...(retentionDays === undefined ? {} : { retentionDays }),
  });
  return {
    async post(input, postedBy) {
      // One form of time (`toISOString`), so that entries compare as text.
      const at = (input.at === undefined ? now() : new Date(input.at)).toISOString();
      const entry: JournalEntry = { ...input, id: randomUUID(), at, posted_by: postedBy };
      await log.write([entry]);
      return entry;
    },
    between: (from, to) => log.readRange(from, to),
  };
}
