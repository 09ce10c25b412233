import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../clock.ts';
import type { JwtConfig, JwtIssuer } from '../config/jwt.ts';
import { type AccountingProxyError, isProxyError, proxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type IdmUser, keyrockUser } from './idm-client.ts';
import { createJwks, type JwksMetrics } from './jwks.ts';
import { dataSpaceUser, firstText } from './jwt-claims.ts';

/** A token the proxy verified: its user, and until when (ms since the epoch) it is valid. */
export interface LocalVerification {
  user: IdmUser;
  validUntil: number;
}

export interface JwtVerifier {
  /**
   * Verifies a JWT of a trusted issuer or of a Keyrock application with a known secret; undefined
   * for any other token (the IdM judges it). Rejects with a table error: a 401 for a token that is
   * not accepted, JWKS_UNAVAILABLE when the issuer's keys cannot be had.
   */
  verify(token: string): Promise<LocalVerification> | undefined;
}

export interface JwtVerifierOptions {
  config: JwtConfig;
  /** Milliseconds to wait for an issuer's JWKS. */
  timeoutMs: number;
  clock: Clock;
  log: Logger;
  metrics?: JwksMetrics | undefined;
  /** Shortest time between two JWKS fetches caused by unknown kids. */
  jwksCooldownMs?: number;
}

// Keyrock signs with jsonwebtoken's default, whatever the application.
const KEYROCK_ALGORITHMS = ['HS256'];
const KEYROCK_CLOCK_TOLERANCE_S = 30;

/** Three base64url parts: the shape of a JWS compact serialization. */
export const isJwtShaped = (token: string) => {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  return first > 0 && second > first + 1 && token.indexOf('.', second + 1) === -1;
};

/** What a failed verification tells the client: one of the table's 401s. */
function rejection(error: unknown, alg: unknown, log: Logger): AccountingProxyError {
  if (isProxyError(error)) return error;
  if (error instanceof errors.JWTExpired) return proxyError('TOKEN_EXPIRED');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return proxyError('TOKEN_NOT_YET_VALID');
    return proxyError('TOKEN_CLAIMS', error.message);
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return proxyError('TOKEN_ALGORITHM', typeof alg === 'string' ? alg.slice(0, 32) : 'none given');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return proxyError('TOKEN_SIGNATURE');
  if (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return proxyError('TOKEN_KEY_UNKNOWN');
  }
  if (!(error instanceof errors.JOSEError)) {
    log.warn({ err: (error as Error)?.message }, 'unexpected failure verifying a JWT');
  }
  return proxyError('TOKEN_MALFORMED');
}

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { clock, log } = options;
  const settle = async (
    verification: () => Promise<{ payload: JWTPayload }>,
    toUser: (payload: JWTPayload) => IdmUser,
    toleranceS: number,
  ): Promise<LocalVerification> => {
    const { payload } = await verification();
    // exp is required by the verification options.
    return { user: toUser(payload), validUntil: ((payload.exp as number) + toleranceS) * 1000 };
  };

  const issuerVerifier = (issuer: JwtIssuer) => {
    const keys = createJwks({
      issuer: issuer.issuer,
      url: issuer.jwksUrl,
      timeoutMs: options.timeoutMs,
      clock,
      log,
      metrics: options.metrics,
      ...(options.jwksCooldownMs === undefined ? {} : { cooldownMs: options.jwksCooldownMs }),
    });
    const customerKey = (payload: JWTPayload) => {
      const key = firstText(payload, issuer.identityClaims);
      if (key === undefined) throw proxyError('TOKEN_IDENTITY', issuer.identityClaims.join(', '));
      return dataSpaceUser(payload, key);
    };
    return (token: string) =>
      settle(
        () =>
          jwtVerify(token, keys, {
            issuer: issuer.issuer,
            algorithms: issuer.algorithms,
            clockTolerance: issuer.clockTolerance,
            currentDate: new Date(clock.now()),
            requiredClaims: ['exp'],
          }),
        customerKey,
        issuer.clockTolerance,
      );
  };
  const issuers = new Map(
    options.config.issuers.map((issuer) => [issuer.issuer, issuerVerifier(issuer)]),
  );

  const keyrockVerifier = (secret: Uint8Array) => (token: string) =>
    settle(
      () =>
        jwtVerify(token, secret, {
          algorithms: KEYROCK_ALGORITHMS,
          clockTolerance: KEYROCK_CLOCK_TOLERANCE_S,
          currentDate: new Date(clock.now()),
          requiredClaims: ['exp'],
        }),
      (payload) => {
        const user = keyrockUser(payload);
        if (!user) throw proxyError('TOKEN_IDENTITY', 'id');
        return user;
      },
      KEYROCK_CLOCK_TOLERANCE_S,
    );
  const encoder = new TextEncoder();
  const keyrockApps = new Map(
    options.config.keyrock_secrets.map(({ appId, secret }) => [
      appId,
      keyrockVerifier(encoder.encode(secret)),
    ]),
  );

  return {
    verify(token) {
      if (!isJwtShaped(token)) return undefined;
      let payload: JWTPayload;
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
        payload = decodeJwt(token);
      } catch {
        return Promise.reject(proxyError('TOKEN_MALFORMED'));
      }
      const local =
        (typeof payload.iss === 'string' ? issuers.get(payload.iss) : undefined) ??
        (typeof payload.app_id === 'string' ? keyrockApps.get(payload.app_id) : undefined);
      return local?.(token).catch((error: unknown) => {
        throw rejection(error, alg, log);
      });
    },
  };
}
