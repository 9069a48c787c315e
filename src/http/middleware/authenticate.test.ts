import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { parsePolicy } from '../../core/identity/policy.ts';
import { issueToken } from '../../core/identity/tokens.ts';
import { createLogger } from '../../logging.ts';
import type { Readiness } from '../../service/readiness.ts';
import { createApp } from '../app.ts';
import { authenticate, type AuthenticateOptions } from './authenticate.ts';

const secret = 'test token key';
const appApiToken = 'the-app-api-token';
const policy = parsePolicy(`
apps:
  agent-gateway: { tenant: acme, roles: [agent], actForAgents: true }
  backup-job: { tenant: acme, roles: [operator] }
`);

const check = { adapter: 'test', ok: true, latency_ms: 0 };
const readiness = async (): Promise<Readiness> => ({
  ready: true,
  store: 'embedded',
  adapters: { kv: 'test', blobs: 'test', bus: 'test', secrets: 'test' },
  checks: { kv: check, blobs: check, secrets: check },
});

interface Started {
  readonly base: string;
  close(): Promise<void>;
}

/**
 * The real HTTP app (error handler included) with `authenticate` in front of a route
 * answering `req.caller`. Options replace the defaults: without `appApiToken` in them,
 * none is configured.
 */
async function start(options: Partial<AuthenticateOptions> = { appApiToken }): Promise<Started> {
  const whoami = Router()
    .use(authenticate({ tokenKey: async () => secret, policy, ...options }))
    .get('/whoami', (req, res) => void res.json(req.caller));
  const app = createApp({ logger: createLogger('silent'), readiness, routes: [whoami] });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function call(started: Started, headers: Record<string, string>) {
  const res = await fetch(`${started.base}/whoami`, { headers });
  const body = (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown>;
  return { status: res.status, body, code: body.error?.code, message: body.error?.message ?? '' };
}

const bearer = async (roles: Array<'agent' | 'supervisor' | 'operator'>, subject = 'a1', key = secret) =>
  `Bearer ${(await issueToken(key, { tenant: 'acme', subject, roles })).token}`;

describe('authenticate', () => {
  let server: Started;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server.close());

  it('refuses a request with no credentials as Unauthenticated', async () => {
    expect(await call(server, {})).toMatchObject({ status: 401, code: 'Unauthenticated' });
  });

  it('leaves the health probes open', async () => {
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  });

  describe('bearer tokens', () => {
    it('sets the caller from a valid token', async () => {
      const res = await call(server, { authorization: await bearer(['agent']) });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ tenant: 'acme', principal: 'a1', roles: ['agent'], via: 'token' });
    });

    it('refuses a token signed with another key, an expired one, and malformed Authorization headers', async () => {
      const wrongKey = await bearer(['agent'], 'a1', 'another key');
      expect(await call(server, { authorization: wrongKey })).toMatchObject({
        status: 401,
        code: 'Unauthenticated',
        message: expect.stringMatching(/signature/) as unknown,
      });
      const expired = await issueToken(
        secret,
        { tenant: 'acme', subject: 'a1', roles: ['agent'], ttlSeconds: 1 },
        new Date(Date.now() - 3_600_000),
      );
      const res = await call(server, { authorization: `Bearer ${expired.token}` });
      expect(res).toMatchObject({ status: 401, code: 'Unauthenticated' });
      expect(res.message).toMatch(/expired/);
      expect(res.message).not.toContain(expired.token);
      for (const authorization of [
        'Basic YTpi',
        'Bearer',
        'Bearer ',
        `Token ${expired.token}`,
        'Bearer a b',
      ]) {
        expect(await call(server, { authorization })).toMatchObject({ status: 401, code: 'Unauthenticated' });
      }
    });

    it('takes the bearer token over Dapr headers on the same request', async () => {
      const res = await call(server, {
        authorization: await bearer(['agent']),
        'dapr-caller-app-id': 'backup-job',
        'dapr-api-token': appApiToken,
      });
      expect(res.body).toMatchObject({ principal: 'a1', roles: ['agent'], via: 'token' });
      const bad = await call(server, {
        authorization: 'Bearer nope',
        'dapr-caller-app-id': 'backup-job',
        'dapr-api-token': appApiToken,
      });
      expect(bad).toMatchObject({ status: 401, code: 'Unauthenticated' });
    });

    it('refuses x-agent-id naming another agent on an agent token, and allows it naming the subject', async () => {
      const agent = await bearer(['agent']);
      expect(await call(server, { authorization: agent, 'x-agent-id': 'a2' })).toMatchObject({
        status: 403,
        code: 'Forbidden',
      });
      expect(await call(server, { authorization: agent, 'x-agent-id': 'a1' })).toMatchObject({
        status: 200,
        body: { principal: 'a1' },
      });
    });

    it('ignores x-agent-id for identity on supervisor and operator tokens', async () => {
      for (const role of ['supervisor', 'operator'] as const) {
        const res = await call(server, { authorization: await bearer([role], 'boss'), 'x-agent-id': 'a2' });
        expect(res).toMatchObject({ status: 200, body: { principal: 'boss', roles: [role], via: 'token' } });
      }
    });
  });

  describe('Dapr service invocation', () => {
    const dapr = (appId: string, extra: Record<string, string> = {}) => ({
      'dapr-caller-app-id': appId,
      'dapr-api-token': appApiToken,
      ...extra,
    });

    it('trusts dapr-caller-app-id with the right app API token and maps it through the policy', async () => {
      const res = await call(server, dapr('backup-job'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        tenant: 'acme',
        principal: 'backup-job',
        roles: ['operator'],
        via: 'dapr',
        appId: 'backup-job',
      });
    });

    it('refuses dapr-caller-app-id with a wrong or missing app API token as Unauthenticated', async () => {
      for (const token of ['wrong', `${appApiToken}x`, appApiToken.slice(0, -1), '']) {
        expect(await call(server, dapr('backup-job', { 'dapr-api-token': token }))).toMatchObject({
          status: 401,
          code: 'Unauthenticated',
        });
      }
      expect(await call(server, { 'dapr-caller-app-id': 'backup-job' })).toMatchObject({
        status: 401,
        code: 'Unauthenticated',
        message: expect.stringMatching(/without dapr-api-token/) as unknown,
      });
    });

    it('refuses every Dapr caller when no app API token is configured', async () => {
      const noToken = await start({});
      try {
        const res = await call(noToken, dapr('backup-job'));
        expect(res).toMatchObject({ status: 401, code: 'Unauthenticated' });
        expect(res.message).toMatch(/no app API token/);
      } finally {
        await noToken.close();
      }
    });

    it('refuses an app id the policy does not list as Forbidden', async () => {
      expect(await call(server, dapr('stranger'))).toMatchObject({ status: 403, code: 'Forbidden' });
    });

    it('lets a gateway allowed to act for agents become the agent of x-agent-id', async () => {
      const res = await call(server, dapr('agent-gateway', { 'x-agent-id': 'a7' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        tenant: 'acme',
        principal: 'a7',
        roles: ['agent'],
        via: 'dapr',
        appId: 'agent-gateway',
        actingFor: 'agent-gateway',
      });
    });

    it('refuses x-agent-id from an app that may not act for agents as Forbidden, and a malformed one as InvalidInput', async () => {
      expect(await call(server, dapr('backup-job', { 'x-agent-id': 'a7' }))).toMatchObject({
        status: 403,
        code: 'Forbidden',
      });
      expect(await call(server, dapr('agent-gateway', { 'x-agent-id': '../a7' }))).toMatchObject({
        status: 400,
        code: 'InvalidInput',
      });
    });
  });

  describe('the token key', () => {
    it('is read once and kept, but a failed read is retried on the next request', async () => {
      let reads = 0;
      const outcomes: Array<() => string> = [
        () => {
          throw new AppError('VaultLocked', 'the secret store is sealed');
        },
        () => {
          throw new AppError('SecretNotFound', 'secret "agentstate-token-key" is not set');
        },
        () => secret,
      ];
      const flaky = await start({
        appApiToken,
        tokenKey: async () => {
          const next = outcomes[Math.min(reads, outcomes.length - 1)];
          reads += 1;
          if (next === undefined) throw new Error('unreachable');
          return next();
        },
      });
      try {
        const authorization = await bearer(['agent']);
        expect(await call(flaky, { authorization })).toMatchObject({ status: 423, code: 'VaultLocked' });
        // A missing key is the server's problem, not a missing route: 503, not 404.
        expect(await call(flaky, { authorization })).toMatchObject({ status: 503, code: 'Unavailable' });
        const parallel = await Promise.all([1, 2, 3].map(() => call(flaky, { authorization })));
        expect(parallel.map((res) => res.status)).toEqual([200, 200, 200]);
        expect(await call(flaky, { authorization })).toMatchObject({ status: 200 });
        expect(reads).toBe(3);
      } finally {
        await flaky.close();
      }
    });
  });
});
