import { generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { expectAppError } from '../../testing/conformance/assertions.ts';
import { callerFromToken, deriveTokenKey, issueToken, verifyToken } from './tokens.ts';

const secret = 'correct horse battery staple';
const now = new Date('2030-01-01T00:00:00Z');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs arbitrary claims with the real derived key, to test what verification checks beyond the signature. */
function signRaw(claims: JWTPayload, key = deriveTokenKey(secret).secretKey) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

const goodClaims = (): JWTPayload => ({
  sub: 'a1',
  tenant: 't1',
  roles: ['agent'],
  iss: 'agentstate',
  aud: 'agentstate',
  iat: seconds(now),
  exp: seconds(now) + 600,
});

const without = (claim: string): JWTPayload =>
  Object.fromEntries(Object.entries(goodClaims()).filter(([name]) => name !== claim));

describe('deriveTokenKey', () => {
  it('gives a 32-byte key for short and non-base64 secrets, the same for the same secret', () => {
    for (const input of ['x', 'not base64 !!', 'ü'.repeat(200)]) {
      const key = deriveTokenKey(input);
      expect(key.secretKey.symmetricKeySize).toBe(32);
      expect(key.secretKey.equals(deriveTokenKey(input).secretKey)).toBe(true);
    }
    expect(deriveTokenKey('a').secretKey.equals(deriveTokenKey('b').secretKey)).toBe(false);
  });

  it('refuses an empty secret', () => {
    expect(() => deriveTokenKey('')).toThrowError(/must not be empty/);
  });
});

describe('issueToken and verifyToken', () => {
  it('round-trips tenant, subject, roles and lifetime, with the secret or a derived key', async () => {
    const issued = await issueToken(
      secret,
      { tenant: 't1', subject: 'a1', roles: ['agent', 'supervisor'], ttlSeconds: 120 },
      now,
    );
    expect(issued.expiresAt.toISOString()).toBe('2030-01-01T00:02:00.000Z');
    for (const key of [secret, deriveTokenKey(secret)]) {
      const verified = await verifyToken(key, issued.token, new Date(now.getTime() + 60_000));
      expect(verified).toEqual({
        tenant: 't1',
        subject: 'a1',
        roles: ['agent', 'supervisor'],
        issuedAt: now,
        expiresAt: issued.expiresAt,
      });
      expect(callerFromToken(verified)).toEqual({
        tenant: 't1',
        principal: 'a1',
        roles: ['agent', 'supervisor'],
        via: 'token',
      });
    }
  });

  it('puts exactly the documented claims in an HS256 JWT', async () => {
    const { token } = await issueToken(secret, { tenant: 't1', subject: 'a1', roles: ['operator'] }, now);
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as unknown);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toEqual({
      sub: 'a1',
      tenant: 't1',
      roles: ['operator'],
      iss: 'agentstate',
      aud: 'agentstate',
      iat: seconds(now),
      exp: seconds(now) + 3600,
    });
  });

  it('refuses to issue for bad ids, no roles, unknown or repeated roles, and bad lifetimes', async () => {
    const bad = [
      { tenant: '', subject: 'a1', roles: ['agent'] },
      { tenant: 't1', subject: '../a1', roles: ['agent'] },
      { tenant: 't1', subject: 'a'.repeat(64), roles: ['agent'] },
      { tenant: 't1', subject: 'a1', roles: [] },
      { tenant: 't1', subject: 'a1', roles: ['admin'] },
      { tenant: 't1', subject: 'a1', roles: ['agent', 'agent'] },
      { tenant: 't1', subject: 'a1', roles: ['agent'], ttlSeconds: 0 },
      { tenant: 't1', subject: 'a1', roles: ['agent'], ttlSeconds: 1.5 },
      { tenant: 't1', subject: 'a1', roles: ['agent'], ttlSeconds: 10 * 365 * 24 * 3600 },
    ];
    for (const options of bad) {
      // @ts-expect-error -- deliberately wrong roles for some rows; all are checked at run time.
      await expectAppError(issueToken(secret, options), 'InvalidInput');
    }
  });

  const rejected: Array<[string, () => Promise<string>, RegExp]> = [
    [
      'expired',
      async () =>
        (
          await issueToken(
            secret,
            { tenant: 't1', subject: 'a1', roles: ['agent'], ttlSeconds: 60 },
            new Date(now.getTime() - 3_600_000),
          )
        ).token,
      /expired/,
    ],
    [
      'signed with another key',
      async () =>
        (await issueToken('another secret', { tenant: 't1', subject: 'a1', roles: ['agent'] }, now)).token,
      /signature/,
    ],
    ['alg none', async () => new UnsecuredJWT(goodClaims()).encode(), /algorithm/],
    [
      'alg none with a signature part',
      async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(goodClaims())}.c2ln`,
      /algorithm/,
    ],
    [
      'RS256',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(goodClaims()).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      },
      /algorithm/,
    ],
    [
      'tampered payload (agent raised to operator)',
      async () => {
        const [header, , signature] = (
          await issueToken(secret, { tenant: 't1', subject: 'a1', roles: ['agent'] }, now)
        ).token.split('.');
        return `${header}.${base64url({ ...goodClaims(), roles: ['operator'] })}.${signature}`;
      },
      /signature/,
    ],
    ['malformed', async () => 'not.a.jwt', /well-formed/],
    ['two parts', async () => 'abc.def', /well-formed/],
    ['missing tenant', async () => signRaw(without('tenant')), /"tenant" is missing/],
    ['missing sub', async () => signRaw(without('sub')), /"sub" is missing/],
    ['missing exp', async () => signRaw(without('exp')), /"exp" is missing/],
    ['unknown role', async () => signRaw({ ...goodClaims(), roles: ['agent', 'root'] }), /known roles/],
    ['empty roles', async () => signRaw({ ...goodClaims(), roles: [] }), /known roles/],
    ['roles not an array', async () => signRaw({ ...goodClaims(), roles: 'operator' }), /known roles/],
    ['tenant not an id', async () => signRaw({ ...goodClaims(), tenant: 't1/../t2' }), /"tenant" is invalid/],
    [
      'wrong issuer',
      async () => signRaw({ ...goodClaims(), iss: 'someone-else' }),
      /not issued for agentstate/,
    ],
    [
      'wrong audience',
      async () => signRaw({ ...goodClaims(), aud: 'other-service' }),
      /not issued for agentstate/,
    ],
    [
      'not yet valid (nbf)',
      async () => signRaw({ ...goodClaims(), nbf: seconds(now) + 3600 }),
      /not yet valid/,
    ],
    [
      'issued in the future',
      async () => signRaw({ ...goodClaims(), iat: seconds(now) + 3600, exp: seconds(now) + 7200 }),
      /not yet valid/,
    ],
  ];

  it.each(rejected)(
    'rejects a token that is %s as Unauthenticated, without echoing it',
    async (_name, make, reason) => {
      const token = await make();
      const error = await expectAppError(verifyToken(secret, token, now), 'Unauthenticated');
      expect(error.message).toMatch(reason);
      expect(error.message).not.toContain(token);
      for (const part of token.split('.').filter((p) => p.length > 8))
        expect(error.message).not.toContain(part);
    },
  );

  it('tolerates 30 s of clock skew and no more', async () => {
    const { token } = await issueToken(
      secret,
      { tenant: 't1', subject: 'a1', roles: ['agent'], ttlSeconds: 60 },
      now,
    );
    await expect(verifyToken(secret, token, new Date(now.getTime() + 89_000))).resolves.toMatchObject({
      subject: 'a1',
    });
    await expectAppError(verifyToken(secret, token, new Date(now.getTime() + 91_000)), 'Unauthenticated');
  });
});

describe('verifyToken of a token it verified before under the same key', () => {
  const key = deriveTokenKey(secret);

  it('refuses it before its nbf and after its exp as the first time', async () => {
    const token = await signRaw({ ...goodClaims(), nbf: seconds(now) + 60 }, key.secretKey);
    const valid = new Date(now.getTime() + 60_000);
    await expect(verifyToken(key, token, valid)).resolves.toMatchObject({ subject: 'a1' });
    await expect(verifyToken(key, token, valid)).resolves.toMatchObject({ subject: 'a1' });
    // 30 s of tolerance on either side: valid from 30 s, until 630 s.
    await expectAppError(verifyToken(key, token, new Date(now.getTime() + 29_000)), 'Unauthenticated');
    await expectAppError(verifyToken(key, token, new Date(now.getTime() + 630_000)), 'Unauthenticated');
    await expect(verifyToken(key, token, valid)).resolves.toMatchObject({ subject: 'a1' });
  });

  it('refuses it under another key', async () => {
    const { token } = await issueToken(key, { tenant: 't1', subject: 'a1', roles: ['agent'] }, now);
    await expect(verifyToken(key, token, now)).resolves.toMatchObject({ subject: 'a1' });
    await expectAppError(verifyToken(deriveTokenKey('another secret'), token, now), 'Unauthenticated');
  });
});
