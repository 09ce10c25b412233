import { type Clock, systemClock } from '../../clock.ts';
import type { Store } from '../store.ts';
import { redisBuys } from './buys.ts';
import { connectRedis, type RedisConnectionOptions } from './connection.ts';
import { redisLocks } from './locks.ts';
import { redisReporting } from './reporting.ts';
import { redisRouting } from './routing.ts';
import { redisSubscriptions } from './subscriptions.ts';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** For the dates the store writes itself (default: the system clock). */
  clock?: Clock;
}

/**
 * The store in Redis: keys under one prefix, every check and the write it guards in one Lua
 * script, so several proxies and the CLI can share a server.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<Store> {
  const context = await connectRedis(options);
  // The single token of the first layout becomes the only marketplace key, once.
  await context.change(
    'migrateMarketplaceToken',
    new Date((options.clock ?? systemClock).now()).toISOString(),
  );
  const { redis } = context;
  return {
    kind: 'redis',
    ...redisRouting(context),
    ...redisBuys(context),
    ...redisReporting(context),
    ...redisLocks(context),
    ...redisSubscriptions(context),
    isAvailable: () => redis.status === 'ready',
    probe: async () => {
      await redis.ping();
    },
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
