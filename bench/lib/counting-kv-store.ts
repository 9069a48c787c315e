import type { KvEntry, KvStore } from '../../src/ports/kv-store.ts';

/** Calls and bytes that went through a `KvStore` since the last reset. */
export interface KvCounters {
  /** Calls per method (get, getBulk, save, delete, transact), wherever they came from. */
  readonly calls: Record<string, number>;
  /**
   * Calls made on a request's path before its answer was sent: what the caller waited
   * for. The rest (`calls` minus these) ran after the answer, in the background.
   */
  readonly callsBeforeAnswer: number;
  /** `callsBeforeAnswer` per method. */
  readonly beforeAnswerByMethod: Record<string, number>;
  /** Keys asked for by get and getBulk. */
  readonly keysRead: number;
  /** JSON bytes of the values get and getBulk answered. */
  readonly bytesRead: number;
  /** JSON bytes of the values save and transact sent. */
  readonly bytesWritten: number;
  /**
   * HTTP requests to the sidecar, counted by the worker process beside the store's
   * calls (one store call can be several requests); absent on the embedded store.
   */
  readonly sidecar?: { readonly requests: number; readonly beforeAnswer: number };
}

export interface CountingKvStoreOptions {
  /**
   * Whether the call being made is on a request's path before its answer. The worker
   * process answers it from the request's async context. @default () => false
   */
  readonly beforeAnswer?: () => boolean;
}

export interface CountingKvStore {
  readonly store: KvStore;
  /** While off (the default) calls pass through uncounted, so throughput runs pay nothing. */
  setEnabled(enabled: boolean): void;
  snapshot(): KvCounters;
  reset(): void;
}

const COUNTED = new Set(['get', 'getBulk', 'save', 'delete', 'transact']);

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

/** The sum of calls of every method. */
export function totalCalls(counters: KvCounters): number {
  return Object.values(counters.calls).reduce((sum, n) => sum + n, 0);
}

/**
 * Wraps a `KvStore` to count the calls and bytes the engine makes, the way the issue's
 * figures were taken. A Proxy, so methods the port gains later pass through unchanged.
 */
export function countingKvStore(inner: KvStore, options: CountingKvStoreOptions = {}): CountingKvStore {
  const { beforeAnswer = () => false } = options;
  let enabled = false;
  let calls: Record<string, number> = {};
  let callsBeforeAnswer = 0;
  let beforeAnswerByMethod: Record<string, number> = {};
  let keysRead = 0;
  let bytesRead = 0;
  let bytesWritten = 0;

  // Calls count even when they fail; bytes only what was answered or accepted.
  function countBytes(method: string, args: readonly unknown[], result: unknown): void {
    switch (method) {
      case 'get':
        keysRead++;
        if (result !== undefined) bytesRead += jsonBytes((result as KvEntry).value);
        break;
      case 'getBulk':
        keysRead += (args[0] as readonly string[]).length;
        for (const entry of (result as Map<string, KvEntry>).values()) bytesRead += jsonBytes(entry.value);
        break;
      case 'save':
        bytesWritten += jsonBytes(args[1]);
        break;
      case 'transact':
        for (const op of args[0] as readonly { op: string; value?: unknown }[])
          if (op.op === 'save') bytesWritten += jsonBytes(op.value);
        break;
    }
  }

  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const original: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !COUNTED.has(property) || typeof original !== 'function')
        return original;
      return async (...args: unknown[]) => {
        // Whether counting was on when the call started decides, so a call in flight
        // across setEnabled is counted whole or not at all.
        const counting = enabled;
        if (counting) {
          calls[property] = (calls[property] ?? 0) + 1;
          if (beforeAnswer()) {
            callsBeforeAnswer++;
            beforeAnswerByMethod[property] = (beforeAnswerByMethod[property] ?? 0) + 1;
          }
        }
        const result: unknown = await (original as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (counting) countBytes(property, args, result);
        return result;
      };
    },
  });

  return {
    store,
    setEnabled: (on) => void (enabled = on),
    snapshot: () => ({
      calls: { ...calls },
      callsBeforeAnswer,
      beforeAnswerByMethod: { ...beforeAnswerByMethod },
      keysRead,
      bytesRead,
      bytesWritten,
    }),
    reset() {
      calls = {};
      callsBeforeAnswer = 0;
      beforeAnswerByMethod = {};
      keysRead = 0;
      bytesRead = 0;
      bytesWritten = 0;
    },
  };
}
