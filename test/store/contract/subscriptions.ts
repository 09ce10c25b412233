/** Orion subscriptions. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buy, type ContractContext, orion, rejectsWith, subscription } from './fixtures.ts';

export function subscriptionsContract({ store }: ContractContext): void {
  describe('Orion subscriptions', () => {
    test('stores, updates, lists and deletes subscriptions of a buy', async () => {
      await store.addService(orion);
      await store.addBuy(buy('k1', { publicPath: '/orion' }));
      const s1 = subscription('s1', 'k1');
      const s2 = subscription('s2', 'k1', {
        version: 'v1',
        fiwareService: '',
        fiwareServicePath: '',
      });
      await store.addSubscription(s1);
      await store.addSubscription(s2);
      assert.deepEqual(await store.getSubscription('s1'), s1);
      await store.updateSubscriptionUrl('s1', 'http://b/2');
      assert.equal((await store.getSubscription('s1'))?.notificationUrl, 'http://b/2');
      assert.deepEqual(
        (await store.listSubscriptions('k1')).map((s) => s.subscriptionId),
        ['s1', 's2'],
      );
      await store.deleteSubscription('s1');
      assert.equal(await store.getSubscription('s1'), undefined);
      assert.deepEqual(await store.listSubscriptions('k1'), [s2]);
    });

    test('refuses subscriptions of unknown buys and updates of unknown subscriptions', async () => {
      await rejectsWith(store.addSubscription(subscription('s1', 'nope')), 'BUY_NOT_FOUND');
      await rejectsWith(store.updateSubscriptionUrl('s9', 'http://a'), 'SUBSCRIPTION_NOT_FOUND');
    });
  });
}
