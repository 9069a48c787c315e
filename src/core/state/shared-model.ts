import { isDeepStrictEqual } from 'node:util';
import type { Json } from '../json.ts';
import type { SharedGetResult, SharedSetResult } from './shared-schemas.ts';

/** What a test knows about one live shared key from the answers it got. */
export interface SharedModelEntry {
  readonly value: Json;
  readonly version: number;
  readonly owner_agent: string;
}

/** A committed change, which must have been published and audited. */
export interface SharedModelChange {
  readonly key: string;
  readonly version: number;
  readonly operation: 'set' | 'delete';
  readonly agent: string;
}

/** A write whose answer was lost (a crash), so the test cannot know if it took effect. */
export type UncertainSharedOperation =
  | { readonly op: 'set'; readonly agent: string; readonly value: Json }
  | { readonly op: 'delete'; readonly agent: string };

/**
 * The test oracle of one tenant's shared state: the acknowledged state of every key
 * and every committed change, for `assertSharedInvariants`. It checks as it goes that
 * each write took the next version — strictly increasing, never reused, not even across
 * a delete and re-create. Meant for tests that run their writes one at a time (or feed
 * concurrent answers in version order), so that every answer can be placed in order.
 */
export class SharedModel {
  /** Acknowledged live keys. */
  readonly live = new Map<string, SharedModelEntry>();
  /** Keys whose deletion was acknowledged (or observed) and that were not re-created since. */
  readonly deleted = new Set<string>();
  /** Every committed change, in order. */
  readonly changes: SharedModelChange[] = [];
  /** The highest version ever acknowledged or observed per key, deleted or not. */
  private readonly highest = new Map<string, number>();

  /** Records a `set` by `agent` that answered `result`; throws unless it took the next version. */
  acknowledgeSet(agent: string, key: string, value: Json, result: SharedSetResult): void {
    const next = (this.highest.get(key) ?? 0) + 1;
    if (result.version !== next) fail(key, `set answered version ${result.version}, expected ${next}`);
    this.live.set(key, { value, version: result.version, owner_agent: agent });
    this.deleted.delete(key);
    this.highest.set(key, result.version);
    this.changes.push({ key, version: result.version, operation: 'set', agent });
  }

  /** Records a `delete` by `agent` that answered `{ deleted: true }`. */
  acknowledgeDelete(agent: string, key: string): void {
    const current = this.live.get(key);
    if (current === undefined) fail(key, 'delete succeeded on a key that did not exist');
    this.live.delete(key);
    this.deleted.add(key);
    this.changes.push({ key, version: current.version, operation: 'delete', agent });
  }

  /**
   * Adopts what `get` answered after `operation` crashed, after checking that it is
   * either the state before the operation or the state the operation would have made.
   */
  observe(key: string, answer: SharedGetResult, operation: UncertainSharedOperation): void {
    const before = this.live.get(key);
    const unchanged = answer.found
      ? before !== undefined &&
        before.version === answer.version &&
        before.owner_agent === answer.owner_agent &&
        isDeepStrictEqual(before.value, answer.value)
      : before === undefined;
    if (unchanged) return;
    if (operation.op === 'delete') {
      if (answer.found) fail(key, `after a crashed delete, get answered version ${answer.version}`);
      this.acknowledgeDelete(operation.agent, key);
      return;
    }
    if (
      !answer.found ||
      answer.owner_agent !== operation.agent ||
      !isDeepStrictEqual(answer.value, operation.value)
    )
      fail(
        key,
        `after a crashed set, get answered ${JSON.stringify(answer)}, neither the old state nor the new`,
      );
    this.acknowledgeSet(operation.agent, key, answer.value, { version: answer.version });
  }

  /** The version a write expecting the current state must pass. */
  versionOf(key: string): number {
    return this.live.get(key)?.version ?? 0;
  }
}

function fail(key: string, message: string): never {
  throw new Error(`shared state of key ${JSON.stringify(key)}: ${message}`);
}
