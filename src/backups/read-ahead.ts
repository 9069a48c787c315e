/**
 * `source`, with up to `depth` items asked for ahead of the consumer, so that producing
 * the next items (reading, compressing, encrypting) overlaps with consuming this one
 * (storing it). Memory: at most `depth` items beyond the one consumed. An async
 * generator answers queued `next()` calls one after another, so `source` still runs
 * one step at a time, in order.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const pending: Promise<IteratorResult<T>>[] = [];
  try {
    for (;;) {
      while (pending.length < depth + 1) {
        const next = iterator.next();
        // Awaited in order below; one left behind when the consumer stops is not unhandled.
        next.catch(() => undefined);
        pending.push(next);
      }
      const result = await (pending.shift() as Promise<IteratorResult<T>>);
      if (result.done === true) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}
