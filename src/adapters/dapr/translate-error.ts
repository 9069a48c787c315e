import { AppError } from '../../core/errors.ts';
import { SidecarError } from './sidecar-client.ts';

// daprd's answers, turned into agentstate's error codes: one function per adapter
// family. The status alone does not say what happened (daprd's Redis store answers 409
// "possible etag mismatch" for a refused connection too, and every failed transaction is
// a 500), so each function reads daprd's error code and message. The messages matched
// here were captured from daprd 1.18.2 with components-contrib 1.18.3 (see
// translate-error.test.ts) and come from:
// - dapr pkg/messages/predefined.go and pkg/api/http/http.go (envelopes, status codes);
// - components-contrib state/errors.go ("possible etag mismatch", "invalid etag value");
// - state/redis/redis.go (Lua scripts: "failed to set key", "failed to delete");
// - common/component/postgresql/v1/postgresql.go, state/postgresql/v2 ("no item was updated").
//
// Decisions: a refused connection, a timeout, a missing or unconfigured component and a
// rejected API token are all `Unavailable` (a deployment can fix them, and daprd hot
// reloads components, so retrying is the right advice); an oversized request is
// `PayloadTooLarge` whatever the API, since daprd refuses it before any store sees it.

export interface StateErrorContext {
  readonly operation: string;
  readonly store: string;
  /** Keys of the request; removed from daprd's message before it is classified. */
  readonly keys?: readonly string[];
}

/** Translates a failed state API call: `VersionConflict`, `PayloadTooLarge`, `Unavailable` or `DatabaseError`. */
export function translateStateError(error: unknown, context: StateErrorContext): never {
  if (error instanceof AppError) throw error;
  const what = `state store ${JSON.stringify(context.store)}: ${context.operation} failed`;
  const answer = classifyAnswer(error, context.keys, what);
  if (ETAG_CONFLICT.some((pattern) => pattern.test(answer.scrubbed))) {
    throw new AppError(
      'VersionConflict',
      `${what}: the key changed, or does not exist, since its ETag was read`,
      {
        cause: error,
      },
    );
  }
  throw new AppError('DatabaseError', `${what}: ${answer.detail}`, { cause: error });
}

export interface BindingErrorContext {
  readonly operation: string;
  readonly binding: string;
  readonly key?: string;
}

/** Translates a failed output binding call: `PayloadTooLarge`, `Unavailable` or `IoError`. */
export function translateBindingError(error: unknown, context: BindingErrorContext): never {
  if (error instanceof AppError) throw error;
  const what = `blob binding ${JSON.stringify(context.binding)}: ${context.operation}${context.key === undefined ? '' : ` ${JSON.stringify(context.key)}`} failed`;
  const answer = classifyAnswer(error, context.key === undefined ? [] : [context.key], what);
  throw new AppError('IoError', `${what}: ${answer.detail}`, { cause: error });
}

export interface PubSubErrorContext {
  readonly operation: 'publish' | 'subscribe';
  readonly pubsub: string;
  readonly topic: string;
}

/**
 * Translates a failed publish (`PayloadTooLarge` or `Unavailable`: the broker did not
 * take the event) or subscription (`SubscriptionFailed`, whatever the reason, as the
 * `EventBus` port says).
 */
export function translatePubSubError(error: unknown, context: PubSubErrorContext): never {
  if (error instanceof AppError) throw error;
  const what = `pub/sub ${JSON.stringify(context.pubsub)} topic ${JSON.stringify(context.topic)}: ${context.operation} failed`;
  const answer = classify(error, [context.topic]);
  if (context.operation === 'subscribe') {
    throw new AppError('SubscriptionFailed', `${what}: ${answer.detail}`, { cause: error });
  }
  if (answer.kind === 'too-large') {
    throw new AppError(
      'PayloadTooLarge',
      `${what}: the event is larger than the sidecar accepts (--max-body-size)`,
      { cause: error },
    );
  }
  throw new AppError('Unavailable', `${what}: ${answer.detail}`, { cause: error });
}

export interface SecretErrorContext {
  readonly store: string;
  readonly name: string;
}

/**
 * Translates a failed secret read: `SecretNotFound` only when the store answered that
 * the secret does not exist (`ERR_SECRET_GET` "... not found", e.g. local.file's "secret
 * x not found" or Kubernetes' `secrets "x" not found`); anything else, including an
 * unknown store, is `Unavailable`, so callers retry instead of treating the vault as locked.
 */
export function translateSecretError(error: unknown, context: SecretErrorContext): never {
  if (error instanceof AppError) throw error;
  const what = `secret store ${JSON.stringify(context.store)}: reading ${JSON.stringify(context.name)} failed`;
  const answer = classify(error, [context.name]);
  if (
    answer.kind === 'answer' &&
    answer.errorCode === 'ERR_SECRET_GET' &&
    /not found/i.test(answer.scrubbed)
  ) {
    throw new AppError(
      'SecretNotFound',
      `secret ${JSON.stringify(context.name)} does not exist in store ${JSON.stringify(context.store)}`,
      { cause: error },
    );
  }
  throw new AppError('Unavailable', `${what}: ${answer.detail}`, { cause: error });
}

/**
 * Classifies a failure and throws for the outcomes every building block treats alike
 * (`Unavailable`, `PayloadTooLarge`); answers what daprd said otherwise.
 */
function classifyAnswer(
  error: unknown,
  keys: readonly string[] | undefined,
  what: string,
): Extract<Classified, { kind: 'answer' }> {
  const answer = classify(error, keys);
  if (answer.kind === 'unavailable')
    throw new AppError('Unavailable', `${what}: ${answer.detail}`, { cause: error });
  if (answer.kind === 'too-large') {
    throw new AppError(
      'PayloadTooLarge',
      `${what}: the request is larger than the sidecar accepts (--max-body-size)`,
      {
        cause: error,
      },
    );
  }
  return answer;
}

// ---------------------------------------------------------------------------------------

type Classified =
  | { readonly kind: 'unavailable'; readonly detail: string }
  | { readonly kind: 'too-large'; readonly detail: string }
  | {
      readonly kind: 'answer';
      readonly detail: string;
      readonly scrubbed: string;
      readonly errorCode: string | undefined;
    };

// daprd could not reach the store, broker or container behind it (Go net errors, pgx's
// "failed to connect", go-redis' "connection pool timeout", the Azure SDK's transport).
const BACKEND_UNREACHABLE = [
  /connection refused/i,
  /dial tcp/i,
  /i\/o timeout/i,
  /no such host/i,
  /connection reset/i,
  /broken pipe/i,
  /network is unreachable/i,
  /failed to connect/i,
  /connection pool timeout/i,
  /context deadline exceeded/i,
  /\bEOF\b/,
  /server closed the connection/i,
];

// Answers of daprd that mean "the component named in the request is not there".
const COMPONENT_MISSING = new Set([
  'ERR_STATE_STORE_NOT_FOUND',
  'ERR_STATE_STORE_NOT_CONFIGURED',
  'ERR_PUBSUB_NOT_FOUND',
  'ERR_PUBSUB_NOT_CONFIGURED',
  'ERR_SECRET_STORE_NOT_FOUND',
  'ERR_SECRET_STORES_NOT_CONFIGURED',
]);

// A condition of the request did not hold. Status codes do not tell (Redis answers 409
// for any script error when the request had an ETag; a transaction is always a 500).
const ETAG_CONFLICT = [
  // state/redis Lua scripts: the version did not match, or the key carries the
  // first-write flag and the request had no ETag.
  /user_script:\d+: failed to (set key|delete)\b/,
  // state/errors.go ETagMismatch with no inner error (PostgreSQL: no row matched) or
  // with PostgreSQL v2's ETag parse error (an ETag that is not a UUID matches nothing).
  /possible etag mismatch\. error from state store(: invalid UUID[^\n]*)?$/,
  // state/errors.go ETagInvalid: Redis and PostgreSQL v1 ETags are numbers, so any other
  // string cannot be the key's current ETag.
  /invalid etag value/,
  // PostgreSQL: first-write concurrency without ETag found a live row.
  /no item was updated/,
  /duplicate key value violates unique constraint/,
];

function classify(error: unknown, scrub: readonly string[] | undefined): Classified {
  if (error instanceof SidecarError) {
    if (error.kind !== 'http') return { kind: 'unavailable', detail: error.detail };
    const scrubbed = scrubKeys(error.detail, scrub);
    const detail = `${error.errorCode ?? `HTTP ${error.status}`}: ${error.detail}`;
    if (/stream too large/i.test(scrubbed)) return { kind: 'too-large', detail };
    if (
      (error.errorCode !== undefined && COMPONENT_MISSING.has(error.errorCode)) ||
      /couldn't find output binding/.test(scrubbed)
    ) {
      return { kind: 'unavailable', detail: `the component is not loaded by the sidecar (${detail})` };
    }
    // daprd's APITokenAuthMiddleware answers a plain-text 401.
    if (error.status === 401 && /invalid api token/i.test(scrubbed)) {
      return { kind: 'unavailable', detail: `the sidecar refused the API token (${detail})` };
    }
    if (BACKEND_UNREACHABLE.some((pattern) => pattern.test(scrubbed))) return { kind: 'unavailable', detail };
    return { kind: 'answer', detail, scrubbed, errorCode: error.errorCode };
  }
  const grpc = grpcStatusOf(error);
  if (grpc !== undefined) {
    // gRPC (the streaming subscription): UNAVAILABLE 14 and DEADLINE_EXCEEDED 4 mean no sidecar.
    if (grpc.code === 14 || grpc.code === 4) return { kind: 'unavailable', detail: grpc.message };
    return {
      kind: 'answer',
      detail: grpc.message,
      scrubbed: scrubKeys(grpc.message, scrub),
      errorCode: undefined,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'answer', detail: message, scrubbed: scrubKeys(message, scrub), errorCode: undefined };
}

// Everything a message is matched against, to tell which keys could fake an answer.
const ALL_PATTERNS = [
  ...BACKEND_UNREACHABLE,
  ...ETAG_CONFLICT,
  /stream too large/i,
  /couldn't find output binding/,
  /invalid api token/i,
  /not found/i,
];

/**
 * Keys can contain any text ("connection refused" too), so a key that matches a pattern
 * is cut out of the message before matching. Other keys stay: cutting a short key ("t")
 * out of every word would break the patterns themselves.
 */
function scrubKeys(message: string, keys: readonly string[] | undefined): string {
  if (keys === undefined) return message;
  let scrubbed = message;
  for (const key of [...keys].sort((a, b) => b.length - a.length)) {
    if (ALL_PATTERNS.some((pattern) => pattern.test(key))) scrubbed = scrubbed.split(key).join('<key>');
  }
  return scrubbed;
}

/** A ConnectRPC error (the SDK's gRPC transport) without importing its class. */
function grpcStatusOf(error: unknown): { code: number; message: string } | undefined {
  if (!(error instanceof Error) || error.name !== 'ConnectError') return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? { code, message: error.message } : undefined;
}
