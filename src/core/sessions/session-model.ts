import { isDeepStrictEqual } from 'node:util';
import type { Json } from '../json.ts';
import type {
  AppendEventInput,
  AppendMessageInput,
  Message,
  SessionClearResult,
  SessionDeleteResult,
  SessionEvent,
  SessionGetResult,
  SessionSetResult,
} from './session-schemas.ts';

/**
 * The test oracle of one session: what its answers acknowledged, for
 * `assertSessionInvariants`. It checks as it goes that every answer agrees with what
 * came before. Meant for tests that run their operations one at a time, except appends,
 * whose answers can be recorded in any order.
 */
export class SessionModel {
  /** Acknowledged live keys and their values. */
  readonly live = new Map<string, Json>();
  /** Keys whose removal was acknowledged (or observed) and that were not set since. */
  readonly deleted = new Set<string>();
  /** Acknowledged messages and events by `seq`. */
  readonly messages = new Map<number, Message>();
  readonly events = new Map<number, SessionEvent>();
  /** Appends whose answer was lost: each may be in its log, once, or not at all. */
  readonly uncertainMessages: AppendMessageInput[] = [];
  readonly uncertainEvents: AppendEventInput[] = [];
  /** Whether the session was ended (acknowledged or observed). */
  ended = false;

  acknowledgeSet(key: string, value: Json, result: SessionSetResult): void {
    const before = this.live.get(key);
    if (
      result.overwritten !== this.live.has(key) ||
      !isDeepStrictEqual(result.previous_value, before ?? null)
    )
      fail(key, `set answered ${JSON.stringify(result)}, the key held ${JSON.stringify(before)}`);
    this.adopt(key, value);
  }

  acknowledgeDelete(key: string, result: SessionDeleteResult): void {
    const before = this.live.get(key);
    if (result.deleted !== this.live.has(key) || !isDeepStrictEqual(result.previous_value, before ?? null))
      fail(key, `delete answered ${JSON.stringify(result)}, the key held ${JSON.stringify(before)}`);
    this.remove(key);
  }

  acknowledgeClear(result: SessionClearResult): void {
    if (result.removed_count !== this.live.size)
      throw new Error(
        `clear answered removed_count ${result.removed_count}, ${this.live.size} keys were live`,
      );
    for (const key of [...this.live.keys()]) this.remove(key);
  }

  acknowledgeMessage(input: AppendMessageInput, message: Message): void {
    if (!sameMessage(input, message))
      throw new Error(`append answered ${JSON.stringify(message)} for another message`);
    if (this.messages.has(message.seq)) throw new Error(`message seq ${message.seq} acknowledged twice`);
    this.messages.set(message.seq, message);
  }

  acknowledgeEvent(input: AppendEventInput, event: SessionEvent): void {
    if (input.type !== event.type || !isDeepStrictEqual(input.data, event.data))
      throw new Error(`append answered ${JSON.stringify(event)} for another event`);
    if (this.events.has(event.seq)) throw new Error(`event seq ${event.seq} acknowledged twice`);
    this.events.set(event.seq, event);
  }

  /** Adopts what `get` answered after a `set` of `value` crashed: the old state or the new one. */
  observeSet(key: string, value: Json, answer: SessionGetResult): void {
    if (this.unchanged(key, answer)) return;
    if (!answer.found || !isDeepStrictEqual(answer.value, value))
      fail(
        key,
        `after a crashed set, get answered ${JSON.stringify(answer)}, neither the old nor the new value`,
      );
    this.adopt(key, value);
  }

  /** Adopts what `get` answered after a `delete` crashed. */
  observeDelete(key: string, answer: SessionGetResult): void {
    if (this.unchanged(key, answer)) return;
    if (answer.found) fail(key, `after a crashed delete, get answered ${JSON.stringify(answer)}`);
    this.remove(key);
  }

  /** Adopts what `list` answered after a `clear` crashed: every key, or none. */
  observeClear(listed: readonly string[]): void {
    if (listed.length === 0) {
      for (const key of [...this.live.keys()]) this.remove(key);
      return;
    }
    const live = [...this.live.keys()].sort();
    if (!isDeepStrictEqual([...listed], live))
      throw new Error(
        `after a crashed clear, list answered ${JSON.stringify(listed)}, neither none nor ${JSON.stringify(live)}`,
      );
  }

  private unchanged(key: string, answer: SessionGetResult): boolean {
    const before = this.live.get(key);
    return answer.found ? this.live.has(key) && isDeepStrictEqual(answer.value, before) : !this.live.has(key);
  }

  private adopt(key: string, value: Json): void {
    this.live.set(key, value);
    this.deleted.delete(key);
  }

  private remove(key: string): void {
    this.live.delete(key);
    this.deleted.add(key);
  }
}

/** Whether `message` holds what `input` appended. */
export function sameMessage(input: AppendMessageInput, message: Message): boolean {
  return (
    input.role === message.role &&
    input.content === message.content &&
    isDeepStrictEqual(input.metadata, message.metadata)
  );
}

function fail(key: string, message: string): never {
  throw new Error(`session state of key ${JSON.stringify(key)}: ${message}`);
}
