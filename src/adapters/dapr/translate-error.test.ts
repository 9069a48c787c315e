import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../core/errors.ts';
import { SidecarError } from './sidecar-client.ts';
import {
  translateBindingError,
  translatePubSubError,
  translateSecretError,
  translateStateError,
} from './translate-error.ts';

// Answers captured from daprd 1.18.2 (components-contrib 1.18.3) against Redis 7,
// PostgreSQL 15 and Azurite; the keys are those of the captured requests.

const http = (status: number, errorCode: string | undefined, message: string) =>
  new SidecarError('http', message, { status, ...(errorCode === undefined ? {} : { errorCode }) });

function codeOf(translate: () => never): ErrorCode {
  try {
    translate();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).cause).toBeDefined();
    return (error as AppError).code;
  }
  throw new Error('translate returned');
}

describe('translateStateError', () => {
  const cases: Array<[string, SidecarError, ErrorCode, string[]?]> = [
    [
      'Redis save with a stale ETag',
      http(
        409,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-redis: possible etag mismatch. error from state store: ERR user_script:14: failed to set key agentstate||exp-1 script: d908b9553add63a82e03589b5c6d01a7654ef0f2, on @user_script:14.',
      ),
      'VersionConflict',
    ],
    [
      'Redis delete with a stale ETag',
      http(
        409,
        'ERR_STATE_DELETE',
        'failed deleting state with key exp-1: possible etag mismatch. error from state store: ERR user_script:6: failed to delete agentstate||exp-1 script: 2446db0de2c963f100727b388f03ead01d18c265, on @user_script:6.',
      ),
      'VersionConflict',
    ],
    [
      'Redis save with a non-numeric ETag',
      http(
        400,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-redis: invalid etag value: strconv.Atoi: parsing "abc": invalid syntax',
      ),
      'VersionConflict',
    ],
    [
      'Redis transaction with a stale ETag',
      http(
        500,
        'ERR_STATE_TRANSACTION',
        'error while executing state transaction: ERR user_script:14: failed to set key agentstate||exp-1-tb script: d908b9553add63a82e03589b5c6d01a7654ef0f2, on @user_script:14.',
      ),
      'VersionConflict',
    ],
    [
      'Redis down, save with an ETag (daprd answers 409 "etag mismatch")',
      http(
        409,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-redis: possible etag mismatch. error from state store: dial tcp 127.0.0.1:26379: connect: connection refused',
      ),
      'Unavailable',
    ],
    [
      'Redis down, save without an ETag',
      http(
        500,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-redis: failed to set key agentstate||a: dial tcp 127.0.0.1:26379: connect: connection refused',
      ),
      'Unavailable',
    ],
    [
      'Redis down, transaction',
      http(
        500,
        'ERR_STATE_TRANSACTION',
        'error while executing state transaction: dial tcp 127.0.0.1:26379: connect: connection refused',
      ),
      'Unavailable',
    ],
    [
      'Redis down, bulk get item',
      http(200, 'ERR_STATE_BULK_GET', 'dial tcp 127.0.0.1:26379: connect: connection refused'),
      'Unavailable',
    ],
    [
      'PostgreSQL save with a stale ETag',
      http(
        409,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-pg1: possible etag mismatch. error from state store',
      ),
      'VersionConflict',
    ],
    [
      'PostgreSQL v1 save with a non-numeric ETag',
      http(
        400,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-pg1: invalid etag value: strconv.ParseUint: parsing "abc": invalid syntax',
      ),
      'VersionConflict',
    ],
    [
      'PostgreSQL v2 save with an ETag that is not a UUID',
      http(
        409,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-pg2: possible etag mismatch. error from state store: invalid UUID length: 3',
      ),
      'VersionConflict',
    ],
    [
      'PostgreSQL first-write on a live row',
      http(500, 'ERR_STATE_SAVE', 'failed saving state in state store kv-pg1: no item was updated'),
      'VersionConflict',
    ],
    [
      'PostgreSQL transaction with a stale ETag',
      http(
        500,
        'ERR_STATE_TRANSACTION',
        'error while executing state transaction: possible etag mismatch. error from state store',
      ),
      'VersionConflict',
    ],
    [
      'PostgreSQL transaction, first-write on a live row',
      http(500, 'ERR_STATE_TRANSACTION', 'error while executing state transaction: no item was updated'),
      'VersionConflict',
    ],
    [
      'PostgreSQL down',
      http(
        500,
        'ERR_STATE_SAVE',
        'failed saving state in state store kv-pg1: failed to connect to `user=postgres database=postgres`: 127.0.0.1:25432 (127.0.0.1): dial error: dial tcp 127.0.0.1:25432: connect: connection refused',
      ),
      'Unavailable',
    ],
    [
      'request over --max-body-size (save)',
      http(400, 'ERR_MALFORMED_REQUEST', 'stream too large'),
      'PayloadTooLarge',
    ],
    [
      'request over --max-body-size (transaction)',
      http(400, 'ERR_MALFORMED_REQUEST', 'failed deserializing HTTP body: stream too large'),
      'PayloadTooLarge',
    ],
    ['unknown store', http(400, 'ERR_STATE_STORE_NOT_FOUND', 'state store nope is not found'), 'Unavailable'],
    ['rejected API token', http(401, undefined, 'invalid api token'), 'Unavailable'],
    [
      'any other store failure',
      http(500, 'ERR_STATE_SAVE', 'failed saving state in state store kv-redis: OOM command not allowed'),
      'DatabaseError',
    ],
    [
      'a key that reads like a network error, in a conflict',
      http(
        500,
        'ERR_STATE_TRANSACTION',
        'error while executing state transaction: ERR user_script:14: failed to set key agentstate||dial tcp: connection refused script: d90, on @user_script:14.',
      ),
      'VersionConflict',
      ['dial tcp: connection refused'],
    ],
  ];

  it.each(cases)('%s', (_, error, code, keys) => {
    expect(
      codeOf(() => translateStateError(error, { operation: 'save', store: 'kv', keys: keys ?? [] })),
    ).toBe(code);
  });

  it('answers Unavailable when the sidecar does not answer', () => {
    const refused = new SidecarError(
      'unreachable',
      'POST /state/kv: fetch failed: connect ECONNREFUSED 127.0.0.1:3500',
    );
    expect(codeOf(() => translateStateError(refused, { operation: 'save', store: 'kv' }))).toBe(
      'Unavailable',
    );
    const slow = new SidecarError('timeout', 'POST /state/kv got no answer within 30000 ms');
    expect(codeOf(() => translateStateError(slow, { operation: 'save', store: 'kv' }))).toBe('Unavailable');
  });

  it('passes AppErrors through unchanged', () => {
    const original = new AppError('InvalidInput', 'bad key');
    expect(() => translateStateError(original, { operation: 'save', store: 'kv' })).toThrow(original);
  });
});

describe('translateBindingError', () => {
  const cases: Array<[string, SidecarError, ErrorCode]> = [
    [
      'Azure refusing a request',
      http(
        500,
        'ERR_INVOKE_OUTPUT_BINDING',
        'error invoking output binding blobs-azure: DELETE http://127.0.0.1:20000/devstoreaccount1/agentstate/x\nRESPONSE 400: 400 Bad Request',
      ),
      'IoError',
    ],
    [
      'unknown binding',
      http(
        500,
        'ERR_INVOKE_OUTPUT_BINDING',
        "error invoking output binding nope: couldn't find output binding nope",
      ),
      'Unavailable',
    ],
    [
      'request over --max-body-size',
      http(400, 'ERR_MALFORMED_REQUEST', 'failed deserializing HTTP body: stream too large'),
      'PayloadTooLarge',
    ],
    [
      'Azurite down',
      http(
        500,
        'ERR_INVOKE_OUTPUT_BINDING',
        'error invoking output binding b: Put "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused',
      ),
      'Unavailable',
    ],
  ];
  it.each(cases)('%s', (_, error, code) => {
    expect(codeOf(() => translateBindingError(error, { operation: 'put', binding: 'b', key: 'x' }))).toBe(
      code,
    );
  });
});

describe('translatePubSubError', () => {
  it('makes a failed publish Unavailable, or PayloadTooLarge for an oversized event', () => {
    const context = { operation: 'publish', pubsub: 'bus', topic: 't' } as const;
    expect(
      codeOf(() =>
        translatePubSubError(http(404, 'ERR_PUBSUB_NOT_FOUND', 'pubsub nope is not found'), context),
      ),
    ).toBe('Unavailable');
    const down = http(
      500,
      'ERR_PUBSUB_PUBLISH_MESSAGE',
      'error when publishing to topic t in pubsub bus: redis streams: error from publish: dial tcp 127.0.0.1:26379: connect: connection refused',
    );
    expect(codeOf(() => translatePubSubError(down, context))).toBe('Unavailable');
    const big = http(
      500,
      'ERR_PUBSUB_PUBLISH_MESSAGE',
      'error when publishing to topic sizetest in pubsub bus: stream too large',
    );
    expect(codeOf(() => translatePubSubError(big, context))).toBe('PayloadTooLarge');
  });

  it('makes any failed subscription SubscriptionFailed', () => {
    const context = { operation: 'subscribe', pubsub: 'bus', topic: 't' } as const;
    const connect = Object.assign(new Error('[unavailable] connect ECONNREFUSED 127.0.0.1:50001'), {
      name: 'ConnectError',
      code: 14,
    });
    expect(codeOf(() => translatePubSubError(connect, context))).toBe('SubscriptionFailed');
    expect(codeOf(() => translatePubSubError(new Error('daprd closed the stream'), context))).toBe(
      'SubscriptionFailed',
    );
  });
});

describe('translateSecretError', () => {
  const context = { store: 'secrets-file', name: 'missing' };
  it('is SecretNotFound only when the store says the secret does not exist', () => {
    const missing = http(
      500,
      'ERR_SECRET_GET',
      'failed getting secret with key missing from secret store secrets-file: secret missing not found',
    );
    expect(codeOf(() => translateSecretError(missing, context))).toBe('SecretNotFound');
  });

  it('is Unavailable for an unknown store, a failing store and an absent sidecar', () => {
    expect(
      codeOf(() =>
        translateSecretError(
          http(401, 'ERR_SECRET_STORE_NOT_FOUND', 'failed finding secret store with key nope'),
          context,
        ),
      ),
    ).toBe('Unavailable');
    const failing = http(
      500,
      'ERR_SECRET_GET',
      'failed getting secret with key x from secret store vault: dial tcp 10.0.0.1:8200: i/o timeout',
    );
    expect(codeOf(() => translateSecretError(failing, { store: 'vault', name: 'x' }))).toBe('Unavailable');
    expect(codeOf(() => translateSecretError(new SidecarError('unreachable', 'fetch failed'), context))).toBe(
      'Unavailable',
    );
  });

  it('does not take a secret name that says "not found" for the store saying so', () => {
    const failing = http(
      500,
      'ERR_SECRET_GET',
      'failed getting secret with key not found from secret store vault: permission denied',
    );
    expect(codeOf(() => translateSecretError(failing, { store: 'vault', name: 'not found' }))).toBe(
      'Unavailable',
    );
  });
});
