/**
 * Failed client sign-ins counted per client key and per address over a fixed window: past the
 * limit, sign-ins are refused without looking at the password until the window ends, so a
 * password cannot be guessed at the adapter's pace.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';

export interface AuthLimiter {
  /** Whether sign-ins for this client key or from this address are refused now. */
  blocked(clientKey: string, address: string): boolean;
  failed(clientKey: string, address: string): void;
}

export function createAuthLimiter(options: {
  clock: Clock;
  /** Failures allowed per window (default 5). */
  failures?: number;
  windowMs?: number;
}): AuthLimiter {
  const { failures = 5, windowMs = 60_000 } = options;
  // Bounded: a flood of made-up client keys evicts the oldest counts, never exhausts memory.
  const counts = new LRUCache<string, number>({
    max: 10_000,
    ttl: windowMs,
    perf: { now: () => options.clock.monotonic() },
  });
  const over = (key: string) => (counts.get(key) ?? 0) >= failures;
  const count = (key: string) =>
    // The window runs from the first failure: later ones do not extend it.
    counts.set(key, (counts.get(key) ?? 0) + 1, { noUpdateTTL: counts.has(key) });
  return {
    blocked: (clientKey, address) => over(`key:${clientKey}`) || over(`address:${address}`),
    failed: (clientKey, address) => {
      count(`key:${clientKey}`);
      count(`address:${address}`);
    },
  };
}
