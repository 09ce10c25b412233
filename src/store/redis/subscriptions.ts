import type { Subscription, SubscriptionStore } from '../store.ts';
import type { RedisContext } from './connection.ts';
import { toSubscription } from './rows.ts';

/** Orion subscriptions in Redis; revoking a buy deletes them in the same script. */
export function redisSubscriptions({ redis, key, change }: RedisContext): SubscriptionStore {
  return {
    addSubscription: (s) =>
      change(
        'addSubscription',
        s.subscriptionId,
        s.apiKey,
        s.notificationUrl,
        s.version,
        s.secret,
        s.fiwareService,
        s.fiwareServicePath,
      ),
    getSubscription: async (id) => toSubscription(id, await redis.hgetall(key('subscription', id))),
    listSubscriptions: async (apiKey) => {
      const ids = (await redis.smembers(key('buy-subscriptions', apiKey))).sort();
      const found = await Promise.all(
        ids.map(async (id) => toSubscription(id, await redis.hgetall(key('subscription', id)))),
      );
      return found.filter((s): s is Subscription => s !== undefined);
    },
    updateSubscriptionUrl: (id, url) => change('updateSubscriptionUrl', id, url),
    deleteSubscription: (id) => change('deleteSubscription', id),
  };
}
