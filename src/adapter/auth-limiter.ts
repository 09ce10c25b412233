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
  /** Failures allowed per client key and window (default 5). */
  perKey?: number;
  /**
   * Failures allowed per address and window (default 50): the address is the adapter's, which
   * signs in all of its clients, so its limit is higher than a key's.
   */
  perAddress?: number;
  windowMs?: number;
}): AuthLimiter {
  const { perKey = 5, perAddress = 50, windowMs = 60_000 } = options;
  // Bounded: a flood of made-up client keys evicts the oldest counts, never exhausts memory.
  const counts = new LRUCache<string, number>({
    max: 10_000,
    ttl: windowMs,
    perf: { now: () => options.clock.monotonic() },
    // The injected clock on every read: lru-cache would otherwise keep a reading for 1 ms.
    ttlResolution: 0,
  });
  const over = (key: string, failures: number) => (counts.get(key) ?? 0) >= failures;
  const count = (key: string) =>
    // The window runs from the first failure: later ones do not extend it.
    counts.set(key, (counts.get(key) ?? 0) + 1, { noUpdateTTL: counts.has(key) });
  return {
    blocked: (clientKey, address) =>
      over(`key:${clientKey}`, perKey) || over(`address:${address}`, perAddress),
    failed: (clientKey, address) => {
      count(`key:${clientKey}`);
      count(`address:${address}`);
    },
  };
}
