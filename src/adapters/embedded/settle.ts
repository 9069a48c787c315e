/**
 * Runs `work` at once and answers its outcome as a promise, a throw becoming a
 * rejection: what an `async` function does, for adapter methods whose driver is
 * synchronous and so have nothing to await.
 */
export function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}
