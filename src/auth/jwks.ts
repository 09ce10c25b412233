import {
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  errors as joseErrors,
} from 'jose';
import type { Clock } from '../clock.ts';
import { proxyError } from '../errors.ts';
import { createJsonClient } from '../http/json-client.ts';
import type { Logger } from '../log.ts';

export interface JwksMetrics {
  jwksFetch(issuer: string, result: 'ok' | 'failed'): void;
}

export interface JwksOptions {
  issuer: string;
  url: string;
  timeoutMs: number;
  clock: Clock;
  log: Logger;
  metrics?: JwksMetrics | undefined;
  /** Shortest time between two fetches caused by unknown kids: a flood of made-up kids costs one. */
  cooldownMs?: number;
  /** Age after which the set is fetched again in the background, so removed keys stop working. */
  maxAgeMs?: number;
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>;

/** A key of the issuer for jose's `jwtVerify`. */
export type JwksKeyGetter = (
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
) => ReturnType<KeyLookup>;

/**
 * An issuer's JSON Web Key Set, fetched on first use and kept. A token naming a kid the set lacks
 * makes one fetch (shared by every caller meanwhile, at most once per cooldown). When the endpoint
 * is down the last set keeps serving: only tokens it cannot check get JWKS_UNAVAILABLE (503).
 */
export function createJwks(options: JwksOptions): JwksKeyGetter {
  const { clock, log, metrics, issuer } = options;
  const cooldownMs = options.cooldownMs ?? 5000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const url = new URL(options.url);
  const http = createJsonClient({ baseUrl: url.origin, timeoutMs: options.timeoutMs });
  let keys: KeyLookup | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let lastFetchFailed = false;
  // When a token's unknown kid last caused a fetch: those are what a flood of made-up kids causes.
  let unknownKidFetchAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  const fetchOnce = async () => {
    fetchedAt = clock.monotonic();
    try {
      const response = await http.get(`${url.pathname}${url.search}`);
      if (response.status !== 200) throw new Error(`answered ${response.status}`);
      const set = response.data as JSONWebKeySet;
      if (typeof set !== 'object' || set === null || !Array.isArray(set.keys)) {
        throw new Error('answered no JSON Web Key Set');
      }
      keys = createLocalJWKSet(set);
      lastFetchFailed = false;
      metrics?.jwksFetch(issuer, 'ok');
    } catch (error) {
      lastFetchFailed = true;
      metrics?.jwksFetch(issuer, 'failed');
      log.warn({ issuer, err: (error as Error).message }, 'JWKS fetch failed');
      throw proxyError('JWKS_UNAVAILABLE', issuer).causedBy(error);
    }
  };
  const refresh = () => {
    pending ??= fetchOnce().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  // Fetches unless one is under way (then waits for it) or the last one of this cause is too
  // recent: the first unknown kid after any fetch is looked up at once (a verifier that restarted
  // with a new key), the next ones at most once per cooldown.
  const fetchIfDue = async (cause: 'no keys' | 'unknown kid') => {
    if (pending) return pending;
    const now = clock.monotonic();
    const last = cause === 'unknown kid' ? unknownKidFetchAt : fetchedAt;
    if (now - last >= cooldownMs) {
      if (cause === 'unknown kid') unknownKidFetchAt = now;
      return refresh();
    }
    if (lastFetchFailed) throw proxyError('JWKS_UNAVAILABLE', issuer);
  };

  return async (header, token) => {
    if (!keys) await fetchIfDue('no keys');
    else if (clock.monotonic() - fetchedAt > maxAgeMs) refresh().catch(() => {});
    if (!keys) throw proxyError('JWKS_UNAVAILABLE', issuer);
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      await fetchIfDue('unknown kid');
      return keys(header, token);
    }
  };
}
