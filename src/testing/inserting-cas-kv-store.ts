import type { KvStore } from '../ports/kv-store.ts';

/**
 * Gives a store Redis' answer to a save that carries an ETag for a key that does not
 * exist: it inserts (traits.casOnMissingKey 'inserts'), so a unit test on the embedded
 * store can reproduce races that only bite on daprd + Redis. Not atomic: for tests that
 * order their steps themselves.
 */
export function insertingOnMissingKey(inner: KvStore): KvStore {
  return {
    ...inner,
    traits: { ...inner.traits, casOnMissingKey: 'inserts' },
    async save(key, value, options) {
      if (options?.etag !== undefined && (await inner.get(key)) === undefined) {
        return inner.save(
          key,
          value,
          options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds },
        );
      }
      return inner.save(key, value, options);
    },
  };
}
