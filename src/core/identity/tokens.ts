import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { allRoles, idSchema, rolesSchema, type Caller, type Role } from './caller.ts';

/** The secret-store entry whose value signs and verifies bearer tokens. */
export const TOKEN_KEY_SECRET = 'agentstate-token-key';

/** `iss` and `aud` of every token: a token minted for another service is not ours. */
export const TOKEN_ISSUER = 'agentstate';
export const TOKEN_AUDIENCE = 'agentstate';

/** Longest lifetime `issueToken` accepts: one year. */
export const MAX_TOKEN_TTL_SECONDS = 366 * 24 * 3600;

/**
 * Clock skew tolerated between the replica that minted a token and the one verifying
 * it, for `exp`, `nbf` and a future `iat`.
 */
export const CLOCK_TOLERANCE_SECONDS = 30;

// Changing this label changes every derived key and so invalidates every token issued.
const HKDF_INFO = 'agentstate/token-signing-key/hs256/v1';
const HKDF_SALT = 'agentstate';

/** An HMAC-SHA256 key derived from the token secret; `deriveTokenKey` makes one. */
export interface TokenKey {
  readonly kind: 'agentstate-token-key';
  readonly secretKey: KeyObject;
}

/**
 * Derives the 32-byte HS256 key from the `agentstate-token-key` secret with
 * HKDF-SHA256 (salt `agentstate`, info `agentstate/token-signing-key/hs256/v1`).
 *
 * The secret is taken as UTF-8 text, whatever it looks like (base64, hex, a passphrase),
 * so any non-empty secret gives a full-length key and every replica and the CLI derive
 * the same one. HKDF stretches length, not entropy: the secret itself should hold at
 * least 32 random bytes (`openssl rand -base64 32`).
 */
export function deriveTokenKey(secret: string): TokenKey {
  if (secret.length === 0) throw new AppError('InvalidInput', 'the token key secret must not be empty');
  const bytes = hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, HKDF_INFO, 32);
  return { kind: 'agentstate-token-key', secretKey: createSecretKey(new Uint8Array(bytes)) };
}

/** What to put in a token. */
export const issueTokenOptionsSchema = z.strictObject({
  tenant: idSchema,
  /** The principal: the agent id for agents. */
  subject: idSchema,
  roles: rolesSchema,
  /** @default 3600 */
  ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).default(3600),
});

export type IssueTokenOptions = z.input<typeof issueTokenOptionsSchema>;

/** A minted token and what it says, for the CLI to print. */
export interface IssuedToken {
  readonly token: string;
  readonly tenant: string;
  readonly subject: string;
  readonly roles: readonly Role[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

/**
 * Mints an HS256 JWT with `sub`, `tenant`, `roles`, `iat`, `exp`, `iss` and `aud`.
 * `key` is the secret's value or a key derived from it. Bad options are `InvalidInput`.
 */
export async function issueToken(
  key: string | TokenKey,
  options: IssueTokenOptions,
  now: Date = new Date(),
): Promise<IssuedToken> {
  const parsed = issueTokenOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new AppError('InvalidInput', `cannot issue token: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const { tenant, subject, roles, ttlSeconds } = parsed.data;
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({ tenant, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(toKey(key).secretKey);
  return { token, tenant, subject, roles, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
}

const claimsSchema = z.object({
  sub: idSchema,
  tenant: idSchema,
  roles: rolesSchema,
  iat: z.number().int(),
  exp: z.number().int(),
});

/** The verified content of a token. */
export interface VerifiedToken {
  readonly tenant: string;
  readonly subject: string;
  readonly roles: Role[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

/**
 * Verifies a bearer token: HS256 only (`none`, RS256 and every other `alg` are
 * refused), signature under `key`, `iss`/`aud` `agentstate`, not expired, not used
 * before `nbf` or its `iat`, and `sub`, `tenant`, `roles`, `iat`, `exp` present and
 * well formed. Every failure is `Unauthenticated` with a message naming the reason;
 * messages never contain the token.
 */
export async function verifyToken(
  key: string | TokenKey,
  token: string,
  now: Date = new Date(),
): Promise<VerifiedToken> {
  const { secretKey } = toKey(key);
  let known = verifiedTokens.get(secretKey);
  const hit = known?.get(token);
  // Only the clock can change a verified token's verdict.
  const at = now.getTime();
  if (hit !== undefined && at >= hit.validFrom && at < hit.validUntil) return hit.token;
  const verified = await verifyUncached(secretKey, token, now);
  if (known === undefined) verifiedTokens.set(secretKey, (known = new Map<string, VerifiedEntry>()));
  if (known.size >= VERIFIED_TOKENS_KEPT) known.delete(known.keys().next().value as string);
  known.set(token, verified);
  return verified.token;
}

// An agent sends the same token with every call: verifying it once per key saves each
// later request an HMAC on the thread pool and a key import (7% of a get's CPU, measured
// with `npm run bench -- --cpu-prof`). Keyed by the key object, so a new key starts empty.
const verifiedTokens = new WeakMap<KeyObject, Map<string, VerifiedEntry>>();
const VERIFIED_TOKENS_KEPT = 10_000;

/** A verified token and the times (ms) between which it verifies, tolerance included. */
interface VerifiedEntry {
  readonly token: VerifiedToken;
  readonly validFrom: number;
  readonly validUntil: number;
}

async function verifyUncached(secretKey: KeyObject, token: string, now: Date): Promise<VerifiedEntry> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, secretKey, {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      requiredClaims: ['sub', 'tenant', 'roles', 'iat', 'exp'],
      currentDate: now,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    throw new AppError('Unauthenticated', `bearer token rejected: ${joseReason(error)}`, { cause: error });
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    const issue = claims.error.issues[0];
    const claim = String(issue?.path[0] ?? 'payload');
    const reason =
      claim === 'roles'
        ? `"roles" must list known roles (${allRoles.join(', ')})`
        : `claim "${claim}" is invalid`;
    throw new AppError('Unauthenticated', `bearer token rejected: ${reason}`, { cause: claims.error });
  }
  const { sub, tenant, roles, iat, exp } = claims.data;
  // jose accepts an `iat` in the future; a token minted tomorrow is not valid today.
  if (iat > now.getTime() / 1000 + CLOCK_TOLERANCE_SECONDS) {
    throw new AppError(
      'Unauthenticated',
      'bearer token rejected: it is not yet valid (issued in the future)',
    );
  }
  const nbf = (payload as { nbf?: unknown }).nbf;
  const tolerance = CLOCK_TOLERANCE_SECONDS * 1000;
  return {
    token: { tenant, subject: sub, roles, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) },
    validFrom: Math.max(iat, typeof nbf === 'number' ? nbf : iat) * 1000 - tolerance,
    validUntil: exp * 1000 + tolerance,
  };
}

/** The caller a verified token proves. */
export function callerFromToken(token: VerifiedToken): Caller {
  return { tenant: token.tenant, principal: token.subject, roles: [...token.roles], via: 'token' };
}

function toKey(key: string | TokenKey): TokenKey {
  return typeof key === 'string' ? deriveTokenKey(key) : key;
}

// jose's messages may quote claim values; ours name the reason only.
function joseReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `claim "${error.claim}" is missing`;
    if (error.claim === 'nbf') return 'it is not yet valid';
    if (error.claim === 'iss' || error.claim === 'aud')
      return `it was not issued for agentstate ("${error.claim}" does not match)`;
    return `claim "${error.claim}" is invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not accepted (only HS256 is)';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'the signature does not verify (wrong key or altered token)';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return 'it is not a well-formed JWT';
  if (error instanceof errors.JOSENotSupported) return 'it uses an unsupported JOSE feature';
  return 'it could not be verified';
}
