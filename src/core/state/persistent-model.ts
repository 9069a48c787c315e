import { isDeepStrictEqual } from 'node:util';
import type { Json } from '../json.ts';
import type { PersistentGetResult, PersistentSetResult } from './persistent-schemas.ts';

/** What a test knows about one live key from the answers it got. */
export interface ModelEntry {
  readonly value: Json;
  readonly version: number;
  /** The version the key's current life started at: 1, or where it was re-created. */
  readonly firstVersion: number;
}

/** An operation whose answer was lost (a crash), so the test cannot know if it took effect. */
export type UncertainOperation = { readonly op: 'set'; readonly value: Json } | { readonly op: 'delete' };

/**
 * The test oracle of one agent's persistent state: the acknowledged state of every key,
 * for `assertPersistentInvariants`. It checks as it goes that versions strictly increase
 * and are never reused, not even across a delete and re-create. Meant for tests that
 * run their operations one at a time, so that every answer can be placed in order.
 */
export class PersistentModel {
  /** Acknowledged live keys. */
  readonly live = new Map<string, ModelEntry>();
  /** Keys whose deletion was acknowledged (or observed) and that were not re-created since. */
  readonly deleted = new Set<string>();
  /** The highest version ever acknowledged or observed per key, deleted or not. */
  private readonly highest = new Map<string, number>();

  /** Records a `set` that answered `result`; throws if its versions are not the next ones. */
  acknowledgeSet(key: string, value: Json, result: PersistentSetResult): void {
    const current = this.live.get(key);
    if (result.previous_version !== (current?.version ?? 0))
      fail(
        key,
        `set answered previous_version ${result.previous_version}, expected ${current?.version ?? 0}`,
      );
    if (result.version <= (this.highest.get(key) ?? 0))
      fail(
        key,
        `set answered version ${result.version}, not above ${this.highest.get(key) ?? 0}, which was already used`,
      );
    this.adopt(key, {
      value,
      version: result.version,
      firstVersion: current?.firstVersion ?? result.version,
    });
  }

  /** Records a `delete` that answered `{ deleted: true }`. */
  acknowledgeDelete(key: string): void {
    if (!this.live.has(key)) fail(key, 'delete succeeded on a key that did not exist');
    this.live.delete(key);
    this.deleted.add(key);
  }

  /**
   * Adopts what `get` answered after `operation` crashed (`undefined` for `KeyNotFound`),
   * after checking that it is either the state before the operation or the state the
   * operation would have made.
   */
  observe(key: string, answer: PersistentGetResult | undefined, operation: UncertainOperation): void {
    const before = this.live.get(key);
    const unchanged =
      answer === undefined
        ? before === undefined
        : before !== undefined &&
          before.version === answer.version &&
          isDeepStrictEqual(before.value, answer.value);
    if (unchanged) return;
    if (operation.op === 'delete') {
      if (answer !== undefined) fail(key, `after a crashed delete, get answered version ${answer.version}`);
      this.acknowledgeDelete(key);
      return;
    }
    const next = (this.highest.get(key) ?? 0) + 1;
    if (answer === undefined || answer.version !== next || !isDeepStrictEqual(answer.value, operation.value))
      fail(
        key,
        `after a crashed set, get answered ${JSON.stringify(answer)}, neither the old state nor version ${next}`,
      );
    this.adopt(key, { value: answer.value, version: next, firstVersion: before?.firstVersion ?? next });
  }

  private adopt(key: string, entry: ModelEntry): void {
    this.live.set(key, entry);
    this.deleted.delete(key);
    this.highest.set(key, entry.version);
  }
}

function fail(key: string, message: string): never {
  throw new Error(`persistent state of key ${JSON.stringify(key)}: ${message}`);
}
