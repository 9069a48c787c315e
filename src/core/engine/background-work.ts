/**
 * Work that follows an answer: usage aggregation, collection of deleted keys, anything
 * a commit does not need. A task's failure is reported, never thrown at the caller, who
 * already has its answer; whatever a failed task left undone stays recorded in the store
 * (intents on heads, index entries of deleted keys) for the next one to finish.
 */
export interface BackgroundWork {
  /** Starts `task` now, without waiting for it. */
  run(what: string, task: () => Promise<void>): void;
  /**
   * Starts `task` once `ms` have passed, unless `close()` comes first. Scheduling the same
   * `what` again restarts its wait. The wait does not keep the process alive.
   */
  later(what: string, ms: number, task: () => Promise<void>): void;
  /**
   * Resolves once `ms` have passed, or at once when `close()` comes first: for a task
   * that gathers work for a moment before doing it, so that closing does not wait out
   * the moment, nor drop the work.
   */
  pause(ms: number): Promise<void>;
  /** Resolves once every task started so far, and every task those started, has ended. */
  settle(): Promise<void>;
  /**
   * Cancels the waits of `later`, drops every task started from now on, and resolves
   * once the running ones have ended: call it before closing the store they use, so
   * that no task meets a closed store. A dropped task leaves its work recorded in the
   * store, as a failed one does.
   */
  close(): Promise<void>;
}

export type BackgroundErrorReporter = (what: string, error: unknown) => void;

export function createBackgroundWork(report: BackgroundErrorReporter): BackgroundWork {
  const running = new Set<Promise<void>>();
  const waiting = new Map<string, NodeJS.Timeout>();
  const pauses = new Map<NodeJS.Timeout, () => void>();
  let closed = false;
  const work: BackgroundWork = {
    run(what, task) {
      if (closed) return;
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

    later(what, ms, task) {
      if (closed) return;
      clearTimeout(waiting.get(what));
      const timer = setTimeout(() => {
        waiting.delete(what);
        work.run(what, task);
      }, ms);
      timer.unref();
      waiting.set(what, timer);
    },

    pause(ms) {
      if (closed) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pauses.delete(timer);
          resolve();
        }, ms);
        timer.unref();
        pauses.set(timer, resolve);
      });
    },

    async settle() {
      while (running.size > 0) await Promise.all([...running]);
    },

    async close() {
      closed = true;
      for (const timer of waiting.values()) clearTimeout(timer);
      waiting.clear();
      for (const [timer, resolve] of pauses) {
        clearTimeout(timer);
        resolve();
      }
      pauses.clear();
      await work.settle();
    },
  };
  return work;
}
