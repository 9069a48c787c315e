import { SidecarError, type SidecarClient, type SidecarResponse } from './sidecar-client.ts';

/**
 * One flavour of output binding behind the blob store. Implementations answer raw
 * sidecar errors (`SidecarError`), except where an answer means "no such object", which
 * they turn into `undefined` / `false`; `blob-store.ts` translates the rest.
 */
export interface BlobBinding {
  /** The adapter name, e.g. `dapr-localstorage`. */
  readonly name: string;
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  delete(key: string): Promise<boolean>;
  /**
   * Every key under `prefix` after `after` (in byte order), or at least `want` of them:
   * as many as one scan found. `seen` hints how many keys sort at or before `after`.
   */
  scan(
    prefix: string,
    after: string | undefined,
    want: number,
    seen: number,
  ): Promise<{ keys: string[]; before: number }>;
}

/** `POST /v1.0/bindings/{name}` with `{ operation, data, metadata }` (pkg/api/http/http.go onOutputBindingMessage). */
export async function invokeBinding(
  sidecar: SidecarClient,
  binding: string,
  request: {
    readonly operation: string;
    readonly data?: unknown;
    readonly metadata?: Readonly<Record<string, string>>;
  },
): Promise<SidecarResponse> {
  return sidecar.request({ method: 'POST', path: `/bindings/${encodeURIComponent(binding)}`, json: request });
}

/**
 * Whether a binding answered an error whose message matches `pattern`: how "no such
 * object" is told from a failure. Keys can be any text, so a key that itself matches is
 * cut out of the message first.
 */
export function bindingAnswered(error: unknown, key: string, pattern: RegExp): boolean {
  if (
    !(error instanceof SidecarError) ||
    error.kind !== 'http' ||
    error.errorCode !== 'ERR_INVOKE_OUTPUT_BINDING'
  )
    return false;
  const message = key !== '' && pattern.test(key) ? error.detail.split(key).join('<key>') : error.detail;
  return pattern.test(message);
}
