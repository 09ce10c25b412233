/**
 * Time, passed to every part that reads it, so tests run on a clock they move themselves. Nothing
 * else in src/ calls Date.now() or performance.now().
 */
export interface Clock {
  /** Wall time in milliseconds since the epoch: dates that are stored or sent. */
  now(): number;
  /** Milliseconds from an arbitrary origin, never going back: durations, deadlines and TTLs. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
