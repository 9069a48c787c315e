/**
 * The largest JSON encoding of a value that a `KvStore` accepts unless configured
 * otherwise: daprd's default request limit (`--max-body-size`, 4 MiB) less 16 KiB for the
 * key, ETag, metadata and the JSON envelope of a save request. Every adapter uses the
 * same default so that a value the embedded store accepts also fits through a sidecar.
 */
export const DEFAULT_MAX_VALUE_BYTES = 4 * 1024 * 1024 - 16 * 1024;

/**
 * The largest object a `BlobStore` put accepts unless configured otherwise: its base64
 * (4/3 of the bytes) plus the request's JSON and a key of up to 1024 bytes must fit
 * daprd's default 4 MiB request: 3 MiB − 16 KiB encodes to 4,172,460 bytes, leaving
 * about 19 KiB. The embedded folder store uses the same default.
 */
export const DEFAULT_MAX_OBJECT_BYTES = 3 * 1024 * 1024 - 16 * 1024;

/** The longest TTL any store takes: PostgreSQL keeps it in an int32 (state/utils/ttl.go). */
export const MAX_TTL_SECONDS = 2_147_483_647;
