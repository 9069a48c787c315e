import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

// Bad input gets a 4xx with a code from the closed set, never a 500, and writes nothing.

let w: TestWorker;
let token: string;
let session: string;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
  token = await w.token('t1', 'a1');
  session = (await w.api.request('POST', '/v1/sessions', {}, { token })).body.session_id;
}, 60_000);
afterAll(async () => w?.close());

const badKeys = [
  '',
  'k'.repeat(513),
  'é'.repeat(257),
  'a\u0000b',
  'line\nbreak',
  '\u007f',
  '../x',
  '%2e%2e/x',
  'a/../../b',
  '..',
];

const cases: Array<[string, string, unknown]> = [
  ...badKeys.flatMap((key): Array<[string, string, unknown]> => [
    [`persistent key ${JSON.stringify(key.slice(0, 12))}`, 'state.persistent.set', { key, value: 1 }],
    [
      `shared key ${JSON.stringify(key.slice(0, 12))}`,
      'state.shared.set',
      { key, value: 1, expected_version: 0 },
    ],
    [`session key ${JSON.stringify(key.slice(0, 12))}`, 'state.session.set', { key, value: 1 }],
  ]),
  ['a fractional version', 'state.persistent.get', { key: 'k', version: 1.5 }],
  ['a negative version', 'state.persistent.get', { key: 'k', version: -1 }],
  ['version 0', 'state.persistent.get', { key: 'k', version: 0 }],
  ['a version as text', 'state.persistent.get', { key: 'k', version: '2' }],
  ['a negative expected_version', 'state.shared.set', { key: 'k', value: 1, expected_version: -1 }],
  ['a fractional expected_version', 'state.shared.set', { key: 'k', value: 1, expected_version: 0.5 }],
  ['no expected_version', 'state.shared.set', { key: 'k', value: 1 }],
  ['limit 0', 'state.persistent.list', { limit: 0 }],
  ['a negative limit', 'state.shared.list', { limit: -5 }],
  ['a fractional history limit', 'state.persistent.history', { key: 'k', limit: 2.5 }],
  ['limit over the page maximum', 'state.session.list', { limit: 100_000 }],
  ['no value', 'state.persistent.set', { key: 'k' }],
  ['an unknown field', 'state.persistent.set', { key: 'k', value: 1, ttl: 5 }],
  ['an unknown field on a read', 'state.shared.get', { key: 'k', version: 1 }],
  ['a body that is not an object', 'state.persistent.list', [1, 2]],
  ['a prefix that escapes', 'state.persistent.list', { prefix: '../' }],
  ['a query without its required prefix', 'state.persistent.query', {}],
];

describe('the capability RPC refuses', () => {
  it.each(cases)('%s with InvalidInput', async (_what, name, input) => {
    const res = await w.api.call(name, input, { token, session });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('InvalidInput');
  });

  it('malformed JSON', async () => {
    const res = await w.api.call('state.persistent.set', undefined, {
      token,
      rawBody: '{"key": "k", "value": ',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('InvalidInput');
  });

  it('a number JSON cannot hold as a value (1e999)', async () => {
    const res = await w.api.call('state.persistent.set', undefined, {
      token,
      rawBody: '{"key":"k","value":1e999}',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('InvalidInput');
  });

  it('a body nested 2000 deep, before validation can exhaust the stack', async () => {
    const deep = `${'['.repeat(2000)}1${']'.repeat(2000)}`;
    const res = await w.api.call('state.persistent.set', undefined, {
      token,
      rawBody: `{"key":"k","value":${deep}}`,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'InvalidInput',
      message: expect.stringMatching(/deeper than/),
    });
  });

  it('a value with a __proto__ key, which would be dropped without a word', async () => {
    const res = await w.api.call('state.persistent.set', undefined, {
      token,
      rawBody: '{"key":"k","value":{"a":{"__proto__":{"x":1},"b":1}}}',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'InvalidInput',
      message: expect.stringMatching(/__proto__/),
    });
  });

  it('a body that is not UTF-8, which would be stored as U+FFFD', async () => {
    const body = Buffer.concat([
      Buffer.from('{"key":"k","value":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const res = await fetch(`${w.worker.url}/v1/capabilities/state.persistent.set`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    const answer = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(answer)).toBe(400);
    expect(answer.error).toMatchObject({ code: 'InvalidInput', message: expect.stringMatching(/UTF-8/) });
  });

  it('a JSON body sent without Content-Type: application/json, saying so', async () => {
    const res = await w.api.call('state.persistent.set', undefined, {
      token,
      rawBody: '{"key":"k","value":1}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'InvalidInput',
      message: expect.stringMatching(/Content-Type: application\/json/),
    });
  });

  it('a body over the limit with PayloadTooLarge', async () => {
    const res = await w.api.call(
      'state.persistent.set',
      { key: 'k', value: 'x'.repeat(6 * 1024 * 1024) },
      { token },
    );
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PayloadTooLarge');
  });

  it('a capability that does not exist with RouteNotFound', async () => {
    const res = await w.api.call('state.persistent.drop', { key: 'k' }, { token });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({
      code: 'RouteNotFound',
      message: expect.stringMatching(/GET \/v1\/capabilities/),
    });
  });
});

describe('REST refuses', () => {
  const rest: Array<[string, string, string, unknown?, Record<string, string>?]> = [
    ['an encoded escaping key', 'PUT', '/v1/agents/a1/state/%2e%2e%2Fx', 1],
    ['an encoded escaping session key', 'PUT', `/v1/sessions/{session}/state/a%2F..%2F..%2Fb`, 1],
    ['a version that is not a number', 'GET', '/v1/agents/a1/state/k?version=latest'],
    ['a negative version', 'GET', '/v1/agents/a1/state/k?version=-1'],
    ['a limit that is not a number', 'GET', '/v1/agents/a1/state?limit=ten'],
    ['an unknown query parameter', 'GET', '/v1/agents/a1/state?prefx=a'],
    ['a repeated query parameter', 'GET', '/v1/shared/keys?prefix=a&prefix=b'],
    ['a PUT without a JSON body', 'PUT', '/v1/agents/a1/state/k', undefined],
    ['a shared PUT without If-Match', 'PUT', '/v1/shared/keys/k', 1],
    ['a shared PUT with a negative If-Match', 'PUT', '/v1/shared/keys/k', 1, { 'if-match': '"-1"' }],
    ['a malformed agent id', 'GET', '/v1/agents/..%2Fa2/state'],
    ['a key with a bad percent-escape', 'GET', '/v1/agents/a1/state/%zz'],
    ['a shared key with a bad percent-escape', 'DELETE', '/v1/shared/keys/a%e0%80'],
    ['an unknown field when opening a session', 'POST', '/v1/sessions', { agent: 'a1', tenant: 't2' }],
    [
      'a message with an unknown role',
      'POST',
      '/v1/sessions/{session}/messages',
      { role: 'root', content: 'x' },
    ],
  ];
  it.each(rest)('%s with InvalidInput', async (_what, method, path, body, headers) => {
    const res = await w.api.request(method, path.replace('{session}', session), body, {
      token,
      ...(headers === undefined ? {} : { headers }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('InvalidInput');
  });
});

describe('after all of it', () => {
  it('nothing was written', async () => {
    expect((await w.api.call('state.persistent.list', {}, { token })).body).toMatchObject({
      count: 0,
      total_size_bytes: 0,
    });
    expect((await w.api.call('state.shared.list', {}, { token })).body).toMatchObject({ count: 0 });
    expect((await w.api.call('state.session.list', {}, { token, session })).body).toMatchObject({ count: 0 });
    expect(
      (await w.api.request('GET', `/v1/sessions/${session}/messages`, undefined, { token })).body.count,
    ).toBe(0);
  });
});
