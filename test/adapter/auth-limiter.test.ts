/** Failed client sign-ins, limited per client key and per address over a fixed window. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAuthLimiter } from '../../src/adapter/auth-limiter.ts';
import { testClock } from '../support/test-clock.ts';

test('five failures block the client key everywhere until the window from the first one ends', () => {
  const clock = testClock();
  const limiter = createAuthLimiter({ clock, perKey: 5, perAddress: 50, windowMs: 60_000 });
  for (let n = 0; n < 4; n++) limiter.failed('key-1', `10.0.0.${n}`);
  assert.equal(limiter.blocked('key-1', '10.0.0.9'), false);
  clock.advance(30_000);
  limiter.failed('key-1', '10.0.0.5');
  assert.equal(limiter.blocked('key-1', '10.0.0.9'), true);
  assert.equal(limiter.blocked('key-2', '10.0.0.9'), false, 'other keys are not blocked');
  // Further failures do not extend the window.
  limiter.failed('key-1', '10.0.0.6');
  clock.advance(30_001);
  assert.equal(limiter.blocked('key-1', '10.0.0.9'), false);
});

test('fifty failures from one address block it for every client key', () => {
  const clock = testClock();
  const limiter = createAuthLimiter({ clock });
  for (let n = 0; n < 49; n++) limiter.failed(`guess-${n}`, '192.0.2.1');
  assert.equal(limiter.blocked('the-real-key', '192.0.2.1'), false);
  limiter.failed('guess-49', '192.0.2.1');
  assert.equal(limiter.blocked('the-real-key', '192.0.2.1'), true);
  assert.equal(limiter.blocked('the-real-key', '192.0.2.2'), false);
  clock.advance(60_001);
  assert.equal(limiter.blocked('the-real-key', '192.0.2.1'), false);
});
