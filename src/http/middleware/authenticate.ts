import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { isAppError, AppError } from '../../core/errors.ts';
import { hasRole, type Caller } from '../../core/identity/caller.ts';
import { resolveDaprCaller, singleHeader, type Policy } from '../../core/identity/policy.ts';
import {
  callerFromToken,
  deriveTokenKey,
  TOKEN_KEY_SECRET,
  verifyToken,
  type TokenKey,
} from '../../core/identity/tokens.ts';
import type { Logger } from '../../logging.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /**
     * Who is calling, set by `authenticate()`. Only routes mounted after it may read
     * it; health probes are mounted before it and have none.
     */
    caller: Caller;
  }
}

export interface AuthenticateOptions {
  /** Reads the `agentstate-token-key` secret (through the secret store). */
  readonly tokenKey: () => Promise<string>;
  /** Which Dapr app ids may call, in which tenant, with which roles. */
  readonly policy: Policy;
  /**
   * The app API token daprd sends as `dapr-api-token` (its `APP_API_TOKEN`). Without
   * it no Dapr caller identity is accepted, only bearer tokens.
   */
  readonly appApiToken?: string;
  readonly logger?: Logger;
}

/**
 * Sets `req.caller` from one of two proofs, or fails with `Unauthenticated`:
 *
 * 1. `Authorization: Bearer <jwt>`, verified with the token key (`verifyToken`). The
 *    token's subject is the caller. `x-agent-id` may name only that subject, except for
 *    a supervisor or operator token, where it is ignored for identity (the caller stays
 *    the supervisor or operator; routes may still read it as the agent to act on, and
 *    `authorize.ts` decides). An agent token naming another agent is `Forbidden`.
 * 2. Else `dapr-caller-app-id`, trusted only with a `dapr-api-token` equal to the
 *    configured app API token, then mapped through the policy (`resolveDaprCaller`).
 *
 * Dapr sets `dapr-caller-app-id`, but without Dapr mTLS anything that can reach the
 * sidecar (or this port) can send that header itself: that is why it counts only next
 * to the app API token, which only the sidecar holds. Production needs that token,
 * Dapr mTLS (Sentry) and Dapr access-control policies on this app as well.
 */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  const { policy, appApiToken, logger } = options;
  const expectedAppToken = appApiToken === undefined ? undefined : digest(appApiToken);
  // The secret store may be slow or remote: read the key once. A failed read is not
  // kept (a locked or unreachable store must not lock every later request out).
  let key: Promise<TokenKey> | undefined;
  const tokenKey = (): Promise<TokenKey> => {
    key ??= readTokenKey(options.tokenKey).catch((error: unknown) => {
      key = undefined;
      logger?.warn(
        { err: error },
        'cannot read the token key; bearer tokens are refused until it can be read',
      );
      throw error;
    });
    return key;
  };

  async function identify(req: Request): Promise<Caller> {
    const headers = req.headers;
    const authorization = singleHeader(headers, 'authorization');
    if (authorization !== undefined) {
      const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(authorization);
      if (match?.[1] === undefined) {
        throw new AppError('Unauthenticated', 'the Authorization header must be "Bearer <token>"');
      }
      const caller = callerFromToken(await verifyToken(await tokenKey(), match[1]));
      const agentId = singleHeader(headers, 'x-agent-id');
      if (
        agentId !== undefined &&
        agentId !== caller.principal &&
        !hasRole(caller, 'supervisor') &&
        !hasRole(caller, 'operator')
      ) {
        // Proven, but refused: the refusal is audited in the caller's tenant like any other.
        req.caller = caller;
        throw new AppError(
          'Forbidden',
          'an agent token may not act for another agent (x-agent-id differs from the token subject)',
        );
      }
      return caller;
    }
    // daprd appends its `dapr-caller-app-id` to one the caller sent itself (seen with
    // 1.18), and node joins repeats into "forged, real": never guess which is real.
    const appIds = req.headersDistinct['dapr-caller-app-id'];
    if (appIds !== undefined && appIds.length > 1) {
      throw new AppError(
        'Unauthenticated',
        `dapr-caller-app-id appears ${appIds.length} times: a caller sent its own next to its sidecar's`,
      );
    }
    const appId = appIds?.[0];
    if (appId !== undefined) {
      if (expectedAppToken === undefined) {
        throw new AppError(
          'Unauthenticated',
          'Dapr caller identity is not accepted: this worker has no app API token configured; send a bearer token',
        );
      }
      const presented = singleHeader(headers, 'dapr-api-token');
      if (presented === undefined) {
        throw new AppError('Unauthenticated', 'dapr-caller-app-id was sent without dapr-api-token');
      }
      // Equal-length digests let timingSafeEqual compare without leaking the length.
      if (!timingSafeEqual(digest(presented), expectedAppToken)) {
        throw new AppError('Unauthenticated', 'dapr-api-token is not the app API token');
      }
      return resolveDaprCaller(policy, appId, headers);
    }
    throw new AppError(
      'Unauthenticated',
      'no credentials: send "Authorization: Bearer <token>" or call through Dapr',
    );
  }

  // Express 5 passes a rejected promise to the error handler.
  return async (req, _res, next) => {
    req.caller = await identify(req);
    next();
  };
}

async function readTokenKey(read: () => Promise<string>): Promise<TokenKey> {
  try {
    return deriveTokenKey(await read());
  } catch (error) {
    // Not the caller's fault and not a route that is missing: the server cannot verify.
    if (isAppError(error, 'SecretNotFound') || isAppError(error, 'InvalidInput')) {
      throw new AppError(
        'Unavailable',
        `bearer tokens cannot be verified: the ${TOKEN_KEY_SECRET} secret is not set`,
        { cause: error },
      );
    }
    throw error;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
