import type { KvOperation, KvStore, SaveOptions } from '../../ports/kv-store.ts';

/**
 * `kv` with every save made to expire after `ttlSeconds()` seconds, whatever the caller
 * asked. It lets code that knows nothing of sessions (the key index) write records that
 * do not outlive the session they belong to.
 */
export function withTtl(kv: KvStore, ttlSeconds: () => number): KvStore {
  const expiring = (options: SaveOptions | undefined): SaveOptions => ({
    ...options,
    ttlSeconds: ttlSeconds(),
  });
  const expiringOperation = (operation: KvOperation): KvOperation =>
    operation.op === 'save' ? { ...operation, options: expiring(operation.options) } : operation;
  return {
    traits: kv.traits,
    limits: kv.limits,
    init: () => kv.init(),
    close: () => kv.close(),
    get: (key) => kv.get(key),
    getBulk: (keys) => kv.getBulk(keys),
    save: (key, value, options) => kv.save(key, value, expiring(options)),
    delete: (key, options) => kv.delete(key, options),
    transact: (operations) => kv.transact(operations.map(expiringOperation)),
  };
}
