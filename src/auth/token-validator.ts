import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../clock.ts';
import type { IdmClient, IdmUser } from './idm-client.ts';

const REJECTED = Symbol('rejected token');
type Verdict = IdmUser | typeof REJECTED;

export interface TokenValidatorOptions {
  idm: IdmClient;
  /** How long a valid token is trusted; 0 disables caching. */
  ttlMs: number;
  /** How long a rejected token is remembered, so a client retrying a bad token does not flood the IdM. */
  rejectedTtlMs?: number;
  maxEntries?: number;
  clock?: Clock;
  /** Told of every cache lookup and IdM answer. */
  metrics?: TokenMetrics | undefined;
}

export interface TokenMetrics {
  idm(result: 'valid' | 'invalid' | 'unavailable'): void;
  tokenLookup(result: 'hit' | 'miss'): void;
}

export interface TokenValidator {
  /** The cached verdict, without I/O: a user, `null` for a rejected token, `undefined` if unknown. */
  cached(token: string): IdmUser | null | undefined;
  /** Asks the IdM (once for all concurrent callers with the same token). Throws IDM_UNAVAILABLE. */
  validate(token: string): Promise<IdmUser | null>;
}

export function createTokenValidator(options: TokenValidatorOptions): TokenValidator {
  const rejectedTtl = options.rejectedTtlMs ?? 5000;
  const { metrics } = options;
  // lru-cache's fetch() gives single flight: concurrent fetches of one key share one fetchMethod call.
  const cache = new LRUCache<string, Verdict>({
    max: options.maxEntries ?? 100_000,
    ttl: Math.max(options.ttlMs, 1),
    perf: { now: (options.clock ?? systemClock).monotonic },
    // Read the clock on every check rather than caching it on a timer: expiry follows the clock.
    ttlResolution: 0,
    fetchMethod: async (token, _stale, { options: entry }) => {
      let user: IdmUser | undefined;
      try {
        user = await options.idm.lookup(token);
      } catch (error) {
        metrics?.idm('unavailable');
        throw error;
      }
      metrics?.idm(user ? 'valid' : 'invalid');
      if (user) {
        if (options.ttlMs === 0) entry.ttl = 1;
        return user;
      }
      entry.ttl = rejectedTtl;
      return REJECTED;
    },
  });
  const toResult = (verdict: Verdict | undefined) =>
    verdict === undefined ? undefined : verdict === REJECTED ? null : verdict;
  return {
    cached(token) {
      const verdict = cache.get(token);
      metrics?.tokenLookup(verdict === undefined ? 'miss' : 'hit');
      return toResult(verdict);
    },
    async validate(token) {
      const verdict = await cache.fetch(token);
      return toResult(verdict) ?? null;
    },
  };
}
