import { randomUUID } from 'node:crypto';
import { isAppError } from '../core/errors.ts';
import type { Json } from '../core/json.ts';
import { sharedChangeEventSchema } from '../core/state/shared-events.ts';
import { assertSharedInvariants } from '../core/state/shared-invariants.ts';
import { SharedModel } from '../core/state/shared-model.ts';
import { createSharedState } from '../core/state/shared-state.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { KvStore } from '../ports/kv-store.ts';
import { collectSharedEvents } from './shared-events-collector.ts';

export interface SharedCounterContentionOptions {
  /** @default 32 */
  readonly agents?: number;
  /** Increments each agent makes. @default 50 */
  readonly increments?: number;
  /** A tenant of its own, so runs on one store (or one broker) never meet. @default `contention-<random>` */
  readonly tenant?: string;
  /** How long to wait for every change event to arrive after the last write. @default 30000 */
  readonly eventTimeoutMs?: number;
}

export interface SharedCounterContentionResult {
  readonly tenant: string;
  /** The counter's final value: `agents × increments` when no update was lost. */
  readonly value: number;
  readonly version: number;
  /** Writes refused with `VersionConflict` and retried. */
  readonly conflicts: number;
  /** Change events of the run received, redeliveries and repeats by helpers included. */
  readonly changeEvents: number;
}

const KEY = 'counter';

/**
 * The shared-state contention test of issue 3, for any `KvStore` and `EventBus` (the
 * embedded ones in a unit test, daprd with Redis or PostgreSQL in integration tests):
 * `agents` agents each make `increments` read-modify-write increments of one counter,
 * concurrently, re-reading and retrying on `VersionConflict` as the spec's pattern says.
 *
 * Throws an `Error` unless no update was lost: the counter ends at exactly
 * `agents × increments`, each acknowledged write holds its own version as value (so
 * every write read the one before it), the versions are 1 to N without gaps, and
 * `assertSharedInvariants` holds with every change published and audited.
 */
export async function runSharedCounterContention(
  kv: KvStore,
  bus: EventBus,
  options: SharedCounterContentionOptions = {},
): Promise<SharedCounterContentionResult> {
  const {
    agents = 32,
    increments = 50,
    tenant = `contention-${randomUUID().slice(0, 8)}`,
    eventTimeoutMs = 30_000,
  } = options;
  const total = agents * increments;
  const collector = await collectSharedEvents(bus);
  try {
    const state = createSharedState(kv, bus, { tenant });
    const acknowledged: { agent: string; value: number; version: number }[] = [];
    let conflicts = 0;

    async function increment(agent: string): Promise<void> {
      for (;;) {
        const read = await state.get(KEY);
        const value = (read.found ? counterValue(read.value) : 0) + 1;
        try {
          const { version } = await state.set(agent, KEY, value, read.version);
          acknowledged.push({ agent, value, version });
          return;
        } catch (error) {
          if (!isAppError(error, 'VersionConflict')) throw error;
          conflicts++;
        }
      }
    }

    await Promise.all(
      Array.from({ length: agents }, async (_, i) => {
        const agent = `agent-${String(i).padStart(2, '0')}`;
        for (let n = 0; n < increments; n++) await increment(agent);
      }),
    );

    const final = await state.get(KEY);
    if (!final.found || final.value !== total || final.version !== total)
      throw new Error(`after ${total} increments the counter reads ${JSON.stringify(final)}`);
    const model = new SharedModel();
    for (const write of acknowledged.sort((a, b) => a.version - b.version)) {
      if (write.value !== write.version)
        throw new Error(`version ${write.version} was written with value ${write.value}: an update was lost`);
      model.acknowledgeSet(write.agent, KEY, write.value, { version: write.version });
    }
    if (
      !(await collector.waitFor((events) => versionsSeen(events.changes, tenant) === total, eventTimeoutMs))
    )
      throw new Error(
        `change events of ${total - versionsSeen((await collector.published()).changes, tenant)} writes did not arrive within ${eventTimeoutMs} ms`,
      );
    // Events arrive before their writers' last clean-up of the head: wait for it.
    await state.settle();
    await assertSharedInvariants(kv, bus, tenant, model, { published: () => collector.published() });
    const published = await collector.published();
    return {
      tenant,
      value: final.value,
      version: final.version,
      conflicts,
      changeEvents: published.changes.filter((event) => isOfTenant(event, tenant)).length,
    };
  } finally {
    await collector.close();
  }
}

function counterValue(value: Json): number {
  if (typeof value !== 'number') throw new Error(`the counter holds ${JSON.stringify(value)}, not a number`);
  return value;
}

function versionsSeen(events: readonly Json[], tenant: string): number {
  const versions = new Set<number>();
  for (const event of events) {
    const parsed = sharedChangeEventSchema.safeParse(event);
    if (parsed.success && parsed.data.tenant === tenant) versions.add(parsed.data.version);
  }
  return versions.size;
}

function isOfTenant(event: Json, tenant: string): boolean {
  return sharedChangeEventSchema.safeParse(event).data?.tenant === tenant;
}
