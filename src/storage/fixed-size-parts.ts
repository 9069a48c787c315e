/**
 * Cuts `source` into parts of exactly `partBytes` bytes, the last one shorter; an empty
 * source yields no part. Holds at most one part in memory beyond the one the consumer
 * has, however the source's chunks are sized.
 */
export async function* fixedSizeParts(
  source: AsyncIterable<Uint8Array> | Uint8Array,
  partBytes: number,
): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let offset = 0; offset < source.byteLength; offset += partBytes)
      yield source.subarray(offset, offset + partBytes);
    return;
  }
  let part = new Uint8Array(partBytes);
  let filled = 0;
  for await (const chunk of source) {
    for (let offset = 0; offset < chunk.byteLength;) {
      const taken = Math.min(partBytes - filled, chunk.byteLength - offset);
      part.set(chunk.subarray(offset, offset + taken), filled);
      filled += taken;
      offset += taken;
      if (filled === partBytes) {
        yield part;
        part = new Uint8Array(partBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}
