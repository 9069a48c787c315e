import { setTimeout as sleep } from 'node:timers/promises';
import type { EventBus } from '../../ports/event-bus.ts';
import { retryOnConflict } from './cas-retry.ts';
import type { UsageCounter } from './usage-counter.ts';
import { auditRecordOf, type AuditTrail } from './shared-audit.ts';
import { changeEventOf, notificationOf, NOTIFICATIONS_TOPIC, SHARED_CHANGES_TOPIC } from './shared-events.ts';
import { readSharedHead, type SharedHeadEntry, type SharedStore } from './shared-heads.ts';
import type { SharedHead } from './shared-records.ts';

export interface SharedRollForwardDependencies {
  readonly tenant: string;
  readonly store: SharedStore;
  readonly usage: UsageCounter;
  readonly audit: AuditTrail;
  readonly bus: EventBus;
  /** How long a committed head's own writer has to finish it before others do. */
  readonly graceMs: number;
  readonly now: () => Date;
}

/**
 * The follow-ups of a committed shared write, recorded as the intent on its head: the
 * usage record learns the size change, the audit record is written, the change event
 * and notification are published, and only then is the intent cleared from the head.
 * Every step is idempotent, and nobody writes over a head before its intent is cleared
 * (the clearing changes the ETag), so whatever a head commits is audited and published
 * at least once.
 *
 * Who finishes an intent: its writer, right after the commit. Others leave it to the
 * writer for `graceMs` after the commit (`updated_at`), because a helper racing a live
 * writer only publishes the change again: 32 agents contending for one counter on the
 * embedded store published every change 27 times on average when everyone helped at
 * once. After the grace period the writer is taken to be dead and the next reader or
 * writer finishes its work; a writer that must replace the head meanwhile waits for the
 * intent to clear, at most `graceMs`, so that clocks that disagree cannot block it.
 */
export interface SharedRollForward {
  /** Finishes the head's intent now: what its writer does right after the commit. */
  settle(entry: SharedHeadEntry): Promise<void>;
  /** What a reader does: finishes the head's intent if its grace period is over. */
  settleIfAbandoned(entry: SharedHeadEntry): Promise<void>;
  /**
   * What a writer that must replace a head with an intent does before reading it again:
   * waits a little, or finishes the intent once it is abandoned or this writer has
   * waited `graceMs` for it. One waiter per write operation.
   */
  createWaiter(): (entry: SharedHeadEntry) => Promise<void>;
}

// Waits double from the first to the longest, each shortened at random so that writers
// waiting for the same intent do not all read the head at once: a few store round
// trips, about what the intent's writer needs to finish.
const FIRST_WAIT_MS = 5;
const LONGEST_WAIT_MS = 100;

export function createSharedRollForward(dependencies: SharedRollForwardDependencies): SharedRollForward {
  const { tenant, store, usage, audit, bus, graceMs, now } = dependencies;
  const { kv, keys } = store;

  async function settle(entry: SharedHeadEntry): Promise<void> {
    const intent = entry.head.pending;
    if (intent === undefined) return;
    const event = changeEventOf(tenant, entry.head, intent.id);
    // At once, because the key's next writer waits for all of them. Only the clearing
    // must come after: a head without an intent has had all of it done.
    await allDone([
      intent.usage_delta === 0 ? Promise.resolve() : usage.apply(intent),
      audit.write(auditRecordOf(event)),
      bus.publish(SHARED_CHANGES_TOPIC, event),
      bus.publish(NOTIFICATIONS_TOPIC, notificationOf(event)),
    ]);

    const { key } = entry.head;
    let known: SharedHeadEntry | undefined = entry;
    await retryOnConflict(`intent on ${keys.head(key)}`, async () => {
      // The first attempt uses the head in hand; after a lost race, read it again.
      const current = known ?? (await readSharedHead(store, key));
      known = undefined;
      if (current?.head.pending?.id !== intent.id) return;
      await kv.save(keys.head(key), withoutIntent(current.head), { etag: current.etag });
    });
  }

  function isAbandoned(head: SharedHead): boolean {
    return head.pending !== undefined && now().getTime() - Date.parse(head.updated_at) >= graceMs;
  }

  return {
    settle,

    async settleIfAbandoned(entry) {
      if (isAbandoned(entry.head)) await settle(entry);
    },

    createWaiter() {
      let waitingFor: string | undefined;
      let waited = 0;
      let next = FIRST_WAIT_MS;
      return async (entry) => {
        const id = entry.head.pending?.id;
        if (id !== waitingFor) {
          // A new intent means its writer just committed: it gets a grace period of its own.
          waitingFor = id;
          waited = 0;
          next = FIRST_WAIT_MS;
        }
        if (waited >= graceMs || isAbandoned(entry.head)) {
          await settle(entry);
          return;
        }
        const wait = next * (0.5 + Math.random() / 2);
        await sleep(wait);
        waited += wait;
        next = Math.min(next * 2, LONGEST_WAIT_MS);
      };
    },
  };
}

/**
 * Waits for every step, then fails with the first failure if any. Unlike `Promise.all`
 * it never answers while a step is still running, so nothing of a failed settle goes on
 * writing behind its caller's back (nor behind a crash test's simulated restart).
 */
async function allDone(steps: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

function withoutIntent(head: SharedHead): SharedHead {
  const settled = { ...head };
  delete settled.pending;
  return settled;
}
