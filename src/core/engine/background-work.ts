/**
 * Work that follows an answer: usage aggregation, collection of deleted keys, anything
 * a commit does not need. A task's failure is reported, never thrown at the caller, who
 * already has its answer; whatever a failed task left undone stays recorded in the store
 * (intents on heads, index entries of deleted keys) for the next one to finish.
 */
export interface BackgroundWork {
  /** Starts `task` now, without waiting for it. */
  run(what: string, task: () => Promise<void>): void;
  /** Resolves once every task started so far, and every task those started, has ended. */
  settle(): Promise<void>;
}

export type BackgroundErrorReporter = (what: string, error: unknown) => void;

export function createBackgroundWork(report: BackgroundErrorReporter): BackgroundWork {
  const running = new Set<Promise<void>>();
  return {
    run(what, task) {
      const promise = (async () => {
        try {
          await task();
        } catch (error) {
          report(what, error);
        }
      })();
      running.add(promise);
      void promise.finally(() => running.delete(promise));
    },

    async settle() {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
