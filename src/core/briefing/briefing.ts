import { z } from 'zod';
import { inboxEntrySchema } from '../watch/watch-schemas.ts';
import { componentHealthSchema, type ComponentHealth } from '../system/system-snapshot.ts';
import { journalEntrySchema, type JournalEntry } from './journal.ts';

const timestamp = z.iso.datetime();
const count = z.int().nonnegative();

export const briefingInputSchema = z.strictObject({
  since: z
    .string()
    .exactOptional()
    .describe("Gather changes after this ISO 8601 timestamp; default: the agent's last activity."),
  detail_level: z
    .enum(['summary', 'detailed'])
    .default('summary')
    .describe("'summary' for counts only (default), or 'detailed' for full change lists."),
});
export type BriefingInput = z.infer<typeof briefingInputSchema>;

const sharedChangeSchema = z.object({
  key: z.string(),
  operation: z.enum(['set', 'delete']),
  version: z.int(),
  agent: z.string(),
  at: timestamp,
});
const persistentChangeSchema = z.object({ key: z.string(), version: z.int(), updated_at: timestamp });
const approvalItemSchema = z.object({
  approval_id: z.string(),
  capability: z.string(),
  requester: z.string(),
  requested_at: timestamp,
});

/** A category: always its count; its items only at `detailed`. */
const category = <T extends z.ZodType>(item: T) => z.object({ count, items: z.array(item).exactOptional() });

export const briefingSchema = z.object({
  agent: z.string(),
  since: timestamp,
  generated_at: timestamp,
  detail_level: z.enum(['summary', 'detailed']),
  /** Shared keys set or deleted by other agents. */
  shared_changes: category(sharedChangeSchema),
  /** The agent's persistent keys changed after its last activity: by a restore, an import, an operator. */
  persistent_changes: category(persistentChangeSchema),
  pending_approvals: category(approvalItemSchema),
  unread_messages: category(inboxEntrySchema),
  filesystem_changes: category(journalEntrySchema),
  process_events: category(journalEntrySchema),
  alerts: category(journalEntrySchema),
  health: z.object({ ok: z.boolean(), components: z.array(componentHealthSchema) }),
  /** One sentence made from the counts by a template (no language model). */
  summary: z.string(),
});
export type Briefing = z.infer<typeof briefingSchema>;
export const briefingResultSchema = z.object({ briefing: briefingSchema });

/** What a briefing is made of, gathered by the caller. */
export interface BriefingFacts {
  readonly agent: string;
  readonly since: string;
  readonly generatedAt: string;
  readonly shared: z.infer<typeof sharedChangeSchema>[];
  readonly persistent: z.infer<typeof persistentChangeSchema>[];
  readonly approvals: z.infer<typeof approvalItemSchema>[];
  readonly unread: number;
  readonly inbox: z.infer<typeof inboxEntrySchema>[];
  readonly journal: readonly JournalEntry[];
  readonly health: readonly ComponentHealth[];
}

/** The briefing of `facts` at `detail`: counts always, lists only when detailed. */
export function composeBriefing(facts: BriefingFacts, detail: 'summary' | 'detailed'): Briefing {
  const of = <T>(items: readonly T[], total = items.length) =>
    detail === 'detailed' ? { count: total, items: [...items] } : { count: total };
  const kind = (name: JournalEntry['kind']) => facts.journal.filter((entry) => entry.kind === name);
  const alerts = kind('alert');
  const failing = facts.health.filter((component) => !component.ok).map((component) => component.component);
  const briefing: Omit<Briefing, 'summary'> = {
    agent: facts.agent,
    since: facts.since,
    generated_at: facts.generatedAt,
    detail_level: detail,
    shared_changes: of(facts.shared),
    persistent_changes: of(facts.persistent),
    pending_approvals: of(facts.approvals),
    unread_messages: of(facts.inbox, facts.unread),
    filesystem_changes: of(kind('filesystem_change')),
    process_events: of(kind('process_event')),
    alerts: of(alerts),
    health: { ok: failing.length === 0, components: [...facts.health] },
  };
  const critical = alerts.filter((entry) => entry.kind === 'alert' && entry.severity === 'critical').length;
  return { ...briefing, summary: summarise(briefing, critical, failing) };
}

function summarise(briefing: Omit<Briefing, 'summary'>, critical: number, failing: string[]): string {
  const parts = [
    plural(briefing.shared_changes.count, 'shared key changed by others', 'shared keys changed by others'),
    plural(
      briefing.persistent_changes.count,
      'of your persistent keys changed by someone else',
      'of your persistent keys changed by someone else',
    ),
    plural(briefing.pending_approvals.count, 'pending approval', 'pending approvals'),
    plural(briefing.unread_messages.count, 'unread message', 'unread messages'),
    plural(briefing.filesystem_changes.count, 'filesystem change', 'filesystem changes'),
    plural(briefing.process_events.count, 'process event', 'process events'),
    plural(briefing.alerts.count, 'alert', 'alerts') + (critical > 0 ? ` (${critical} critical)` : ''),
  ].filter((part) => !part.startsWith('0 '));
  const changes = parts.length === 0 ? 'nothing changed' : parts.join(', ');
  const health = failing.length === 0 ? 'all components healthy' : `unhealthy: ${failing.join(', ')}`;
  return `Since ${briefing.since}: ${changes}; ${health}.`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
