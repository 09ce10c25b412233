import type { SubscriptionStore } from '../store.ts';
import type { RedisContext } from './connection.ts';
import { compare, toSubscription } from './rows.ts';

/** Orion subscriptions in Redis; revoking a buy deletes them in the same script. */
export function redisSubscriptions({ redis, keys, change }: RedisContext): SubscriptionStore {
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
    getSubscription: async (id) => {
      const json = await redis.hget(keys.of('subscriptions'), id);
      return json === null ? undefined : toSubscription(id, json);
    },
    listSubscriptions: async (apiKey) =>
      Object.entries(await redis.hgetall(keys.of('subscriptions')))
        .map(([id, json]) => toSubscription(id, json))
        .filter((s) => s.apiKey === apiKey)
        .sort((a, b) => compare(a.subscriptionId, b.subscriptionId)),
    updateSubscriptionUrl: (id, url) => change('updateSubscriptionUrl', id, url),
    deleteSubscription: async (id) => {
      await redis.hdel(keys.of('subscriptions'), id);
    },
  };
}
