/**
 * Object storage for snapshots and backups: the primitives an output binding offers.
 *
 * Semantics every adapter keeps (checked by `blobStoreConformance`):
 * - Object keys are `/`-separated paths of printable characters with no empty, `.` or
 *   `..` segment and no leading `/`; any other key is `InvalidInput`.
 * - `put` replaces the whole object; a reader sees the old or the new bytes, never a
 *   mix. Bytes survive byte for byte. A single object is at most `limits.maxObjectBytes`
 *   (the sidecar's request limit less the encoding overhead); larger data goes through
 *   `LargeObjectStore`, which writes parts and then a manifest.
 * - `list` answers keys under a prefix in ascending byte order, at most `limit` a page,
 *   with an opaque cursor to the next page.
 * - Absence is `undefined` (get) or `false` (delete); failures are `IoError`; an
 *   unreachable sidecar or container is `Unavailable`.
 *
 * Left out on purpose: ranged reads, metadata and content types, conditional writes.
 */
export interface BlobStore {
  readonly name: string;
  readonly limits: BlobStoreLimits;

  init(): Promise<void>;
  close(): Promise<void>;

  put(key: string, data: Uint8Array): Promise<void>;
  /** The object's bytes, or `undefined` if there is none under `key`. */
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string, page?: ListPage): Promise<BlobListing>;
  /** Whether an object was deleted. */
  delete(key: string): Promise<boolean>;
}

export interface BlobStoreLimits {
  readonly maxObjectBytes: number;
}

export interface ListPage {
  /** @default 1000 */
  readonly limit?: number;
  /** From the previous page's `cursor`. */
  readonly cursor?: string;
}

export interface BlobListing {
  readonly keys: string[];
  /** Present when more keys may follow. */
  readonly cursor?: string;
}
