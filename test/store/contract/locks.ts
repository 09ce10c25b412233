/** Named locks with an expiry. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContractContext } from './fixtures.ts';

export function locksContract({ store, reopen }: ContractContext): void {
  describe('locks', () => {
    test('a setting is claimed once: every connection then gets the first value', async () => {
      const other = await reopen();
      try {
        const claims = await Promise.all([
          store.claimSetting('tmf-callback-secret', 'first'),
          other.claimSetting('tmf-callback-secret', 'second'),
        ]);
        assert.equal(claims[0], claims[1]);
        assert.equal(await store.claimSetting('tmf-callback-secret', 'third'), claims[0]);
        assert.equal(await other.claimSetting('another', 'x'), 'x');
      } finally {
        await other.close();
      }
    });

    test('a lock has one owner at a time until released or expired', async () => {
      assert.equal(await store.acquireLock('report', 'a', 60_000), true);
      assert.equal(await store.acquireLock('report', 'b', 60_000), false);
      assert.equal(await store.acquireLock('report', 'a', 60_000), true);
      await store.releaseLock('report', 'b');
      assert.equal(await store.acquireLock('report', 'b', 60_000), false);
      await store.releaseLock('report', 'a');
      // Held for long enough that opening the second connection cannot outlast it.
      assert.equal(await store.acquireLock('report', 'b', 60_000), true);
      const other = await reopen();
      assert.equal(await other.acquireLock('report', 'c', 60_000), false);
      await store.releaseLock('report', 'b');
      assert.equal(await store.acquireLock('report', 'b', 30), true);
      const deadline = Date.now() + 5000;
      while (!(await other.acquireLock('report', 'c', 60_000))) {
        assert.ok(Date.now() < deadline, 'the expired lock is taken over');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
  });
}
