/**
 * The largest JSON encoding of a value that a `KvStore` accepts unless configured
 * otherwise: daprd's default request limit (`--max-body-size`, 4 MiB) less 16 KiB for the
 * key, ETag, metadata and the JSON envelope of a save request. Every adapter uses the
 * same default so that a value the embedded store accepts also fits through a sidecar.
 */
export const DEFAULT_MAX_VALUE_BYTES = 4 * 1024 * 1024 - 16 * 1024;
