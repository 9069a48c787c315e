/** How a conformance suite reaches one adapter. */
export interface ConformanceTarget<T> {
  /** The adapter's name as the test output shows it, e.g. `dapr-redis`. */
  readonly name: string;
  /** Creates a fresh, un-initialised instance; the suite calls `init()` and `close()`. */
  create(): Promise<T>;
  /** Stops whatever `create` started (servers, sidecars, temp dirs). */
  destroy?(): Promise<void>;
  /** When set, the suite is skipped and its name says why. */
  readonly skip?: string | undefined;
  /** @default 180_000 */
  readonly setupTimeoutMs?: number;
}
