import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { type AccountingProxyError, isProxyError } from '../errors.ts';
import type { IdmUser } from './idm-client.ts';
import type { JwtVerifier } from './jwt-verifier.ts';
import type { TokenValidator } from './token-validator.ts';

/**
 * Every way the proxy checks an access token, behind one cache lookup: a user, `null` or a table
 * error for a rejected token, `undefined` when the token has to be checked first.
 */
export interface AccessTokens {
  cached(token: string): IdmUser | AccountingProxyError | null | undefined;
  /** Checks the token; throws IDM_UNAVAILABLE or JWKS_UNAVAILABLE, which say nothing of it. */
  validate(token: string): Promise<IdmUser | AccountingProxyError | null>;
}

export interface JwtMetrics {
  jwtVerification(result: 'valid' | 'invalid' | 'unavailable'): void;
  tokenLookup(result: 'hit' | 'miss'): void;
}

export interface AccessTokenOptions {
  /** Keyrock's `GET /user`, for every token that is not a locally verified JWT. */
  idm: TokenValidator;
  jwt: JwtVerifier;
  clock: Clock;
  metrics?: JwtMetrics | undefined;
  maxEntries?: number;
  /** How long a rejected JWT is remembered, so retrying it costs no signature check. */
  rejectedTtlMs?: number;
}

// A JWT the IdM judges (no trusted issuer, no Keyrock secret): remembered so, not decoded again.
const NOT_LOCAL = Symbol('checked by the IdM');
type Verdict = IdmUser | AccountingProxyError | typeof NOT_LOCAL;

/**
 * JWTs of trusted issuers and Keyrock applications verified here, cached by their hash until they
 * expire (the warm path does no signature work and keeps no token); any other token goes to the
 * IdM as before.
 */
export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const { idm, jwt, clock, metrics } = options;
  const rejectedTtl = options.rejectedTtlMs ?? 5000;
  const cache = new LRUCache<string, Verdict, string>({
    max: options.maxEntries ?? 100_000,
    ttl: rejectedTtl,
    perf: { now: clock.monotonic },
    ttlResolution: 0,
    fetchMethod: async (_digest, _stale, { options: entry, context: token }) => {
      const verification = jwt.verify(token);
      if (!verification) {
        entry.ttl = 3_600_000;
        return NOT_LOCAL;
      }
      try {
        const { user, validUntil } = await verification;
        metrics?.jwtVerification('valid');
        entry.ttl = Math.max(1, validUntil - clock.now());
        return user;
      } catch (error) {
        if (!isProxyError(error) || error.status === 503) {
          metrics?.jwtVerification('unavailable');
          throw error;
        }
        metrics?.jwtVerification('invalid');
        return error;
      }
    },
  });
  const digest = (token: string) => hash('sha256', token, 'base64');

  return {
    cached(token) {
      if (!token.includes('.')) return idm.cached(token);
      const verdict = cache.get(digest(token));
      if (verdict === NOT_LOCAL) return idm.cached(token);
      metrics?.tokenLookup(verdict === undefined ? 'miss' : 'hit');
      return verdict;
    },
    async validate(token) {
      if (!token.includes('.')) return idm.validate(token);
      const verdict = await cache.fetch(digest(token), { context: token });
      if (verdict === NOT_LOCAL || verdict === undefined) return idm.validate(token);
      return verdict;
    },
  };
}
