import { describe, expect, it } from 'vitest';
import { parseGrpcEndpoint } from './event-bus.ts';
import { decodeEvent } from './topic-stream.ts';

const event = (data: string, dataContentType = 'application/json') => ({
  data: new TextEncoder().encode(data),
  dataContentType,
});

describe('decodeEvent', () => {
  it('answers the JSON daprd delivered', () => {
    expect(decodeEvent(event('{"n":1,"s":"ü🙂\\u2028\\u003c"}'))).toEqual({ n: 1, s: 'ü🙂\u2028<' });
    expect(decodeEvent(event('"text"'))).toBe('text');
    expect(decodeEvent(event('0'))).toBe(0);
  });

  it('answers null for no bytes: how daprd delivers a published null', () => {
    expect(decodeEvent(event(''))).toBeNull();
  });

  it('answers undefined (then DROP) for payloads agentstate did not publish', () => {
    expect(decodeEvent(event('not json'))).toBeUndefined();
    expect(decodeEvent(event('123', 'text/plain'))).toBeUndefined();
  });
});

describe('parseGrpcEndpoint', () => {
  it('takes host:port and the DAPR_GRPC_ENDPOINT form', () => {
    expect(parseGrpcEndpoint('127.0.0.1:50001')).toEqual({ host: '127.0.0.1', port: '50001' });
    expect(parseGrpcEndpoint('http://127.0.0.1:41234')).toEqual({ host: '127.0.0.1', port: '41234' });
    expect(parseGrpcEndpoint('http://localhost')).toEqual({ host: 'localhost', port: '50001' });
  });

  it('refuses TLS and a missing endpoint', () => {
    expect(() => parseGrpcEndpoint('https://sidecar:443')).toThrow(/TLS/);
    expect(() => parseGrpcEndpoint(undefined)).toThrow(/gRPC endpoint/);
  });
});
