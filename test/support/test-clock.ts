import type { Clock } from '../../src/clock.ts';

/** A clock that moves only when told to: wall and monotonic time advance together. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function testClock(start = Date.parse('2026-12-01T10:00:00.000Z')): TestClock {
  let elapsed = 0;
  return {
    now: () => start + elapsed,
    // Not 0 at the start, as performance.now() never is: lru-cache reads a 0 start as "no TTL".
    monotonic: () => 1000 + elapsed,
    advance(ms) {
      elapsed += ms;
    },
  };
}
