import type { Json } from '../core/json.ts';
import type { DeleteOptions, KvEntry, KvOperation, KvStore, SaveOptions } from '../ports/kv-store.ts';

/** Thrown in place of every store operation after the injected crash point. */
export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

export interface FaultyKvStore extends KvStore {
  /**
   * Lets the next `operations` store operations through and then fails every later one,
   * as if the process had died there. A write that is cut off is either fully applied
   * or not at all (`applyCutOffWrite` picks which), like a request whose answer was lost.
   */
  crashAfter(operations: number, options?: { applyCutOffWrite?: boolean }): void;
  /** Ends the crash: the store works again, as after a restart. */
  recover(): void;
  /** Store operations seen since the last `crashAfter` or `recover`. */
  readonly operations: number;
  /** Whether an operation failed with the injected crash since the last `crashAfter`. */
  readonly crashed: boolean;
}

/** Runs `call` as the process that may crash: an injected crash ends it quietly, anything else throws. */
export async function untilCrash(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof InjectedCrash)) throw error;
  }
}

/**
 * Wraps a real store to stop "the process" after the Nth operation of a capability, for
 * crash-injection tests (see `src/testing/crash/`). Only the count is simulated; the data is
 * whatever the real store holds.
 */
export function createFaultyKvStore(inner: KvStore): FaultyKvStore {
  let budget = Number.POSITIVE_INFINITY;
  let applyCutOffWrite = false;
  let operations = 0;
  let crashed = false;

  async function step<T>(write: boolean, run: () => Promise<T>): Promise<T> {
    operations++;
    if (budget <= 0) {
      crashed = true;
      throw new InjectedCrash(`crashed before operation ${operations}`);
    }
    budget--;
    if (budget === 0 && write && applyCutOffWrite) {
      await run();
      crashed = true;
      throw new InjectedCrash(`crashed after applying operation ${operations}, before its answer`);
    }
    return run();
  }

  return {
    get traits() {
      return inner.traits;
    },
    get limits() {
      return inner.limits;
    },
    get operations() {
      return operations;
    },
    get crashed() {
      return crashed;
    },
    init: () => inner.init(),
    close: () => inner.close(),
    crashAfter(count, options = {}) {
      budget = count;
      operations = 0;
      crashed = false;
      applyCutOffWrite = options.applyCutOffWrite ?? false;
    },
    recover() {
      budget = Number.POSITIVE_INFINITY;
      operations = 0;
    },
    get: (key: string): Promise<KvEntry | undefined> => step(false, () => inner.get(key)),
    getBulk: (keys: readonly string[]) => step(false, () => inner.getBulk(keys)),
    save: (key: string, value: Json, options?: SaveOptions) =>
      step(true, () => inner.save(key, value, options)),
    delete: (key: string, options?: DeleteOptions) => step(true, () => inner.delete(key, options)),
    transact: (ops: readonly KvOperation[]) => step(true, () => inner.transact(ops)),
  };
}
