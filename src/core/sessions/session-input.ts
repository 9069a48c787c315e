import { payloadTooLarge } from './session-errors.ts';

// Checks made before anything is read or written, so that bad input is PayloadTooLarge
// and writes nothing.

/** Throws `PayloadTooLarge` if `bytes` is over `limit`. */
export function assertAtMost(what: string, bytes: number, limit: number): void {
  if (bytes > limit) throw payloadTooLarge(what, bytes, limit);
}
