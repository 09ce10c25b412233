import { type Clock, systemClock } from '../../clock.ts';
import type { SessionRateTable } from '../adapter.ts';
import type { Store } from '../store.ts';
import { redisAdapter } from './adapter.ts';
import { redisBuys } from './buys.ts';
import {
  closeClient,
  connectRedis,
  keepConnected,
  type RedisConnectionOptions,
  type RedisContext,
} from './connection.ts';
import { STORE_KEYS } from './keys.ts';
import { redisLimits } from './limits.ts';
import { redisLocks } from './locks.ts';
import { LAYOUT, migrateFirstLayout } from './migrate-layout.ts';
import { redisReporting } from './reporting.ts';
import { redisRouting } from './routing.ts';
import { redisSettings } from './settings.ts';
import { redisSubscriptions } from './subscriptions.ts';
import { redisWindows } from './windows.ts';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** For the dates the store writes itself (default: the system clock). */
  clock?: Clock;
  /** How each unit meters an adapter session (none: sessions meter nothing). */
  sessionRates?: SessionRateTable;
}

/** Brings a store of the first key layout into today's, once; a new store is marked current. */
async function migrate(context: RedisContext, options: RedisStoreOptions): Promise<void> {
  const { redis, keys } = context;
  if (options.topology.kind === 'cluster') {
    // The first layout never ran on a Cluster: there is nothing to move.
    await redis.hsetnx(keys.of('counters'), 'layout', LAYOUT);
    return;
  }
  await redis.eval(
    migrateFirstLayout,
    STORE_KEYS.length,
    ...STORE_KEYS.map((key) => keys.of(key)),
    keys.changes,
    options.prefix,
    new Date((options.clock ?? systemClock).now()).toISOString(),
  );
}

/**
 * The store in Redis: a fixed set of keys under one hash tag, every check and the write it guards
 * in one Lua script, so several proxies and the CLI can share a server, a Sentinel-managed primary
 * or a Cluster.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<Store> {
  const context = await connectRedis(options);
  await migrate(context, options);
  const { redis } = context;
  let closing = false;
  // The CLI gives up instead (failFast): it reports the error and exits.
  if (!options.failFast) keepConnected(redis, () => closing);
  return {
    kind: 'redis',
    driver: 'ioredis',
    ...redisRouting(context),
    ...redisBuys(context),
    ...redisReporting(context),
    ...redisLocks(context),
    ...redisSubscriptions(context),
    ...redisAdapter(context, options.sessionRates ?? {}),
    ...redisSettings(context),
    ...redisWindows(context),
    ...redisLimits(context),
    isAvailable: () => redis.status === 'ready',
    probe: async () => {
      await redis.ping();
    },
    watchChanges: async (onChange) => {
      const subscriber = redis.duplicate();
      let unwatched = false;
      keepConnected(subscriber, () => closing || unwatched);
      subscriber.on('error', () => {
        // Reconnects by itself and subscribes again; the routing poll covers the gap.
      });
      subscriber.on('message', onChange);
      // Subscribed on every (re)connection, the first one included: a subscription that failed
      // while Redis was away is not one ioredis would renew. Changes made meanwhile were not
      // announced either: look once it is back.
      let subscribed: Promise<unknown> = Promise.resolve();
      subscriber.on('ready', () => {
        subscribed = subscriber.subscribe(context.keys.changes).catch(() => undefined);
        onChange();
      });
      // Not reachable now: ioredis keeps trying, and the 'ready' above subscribes.
      await subscriber.connect().catch(() => undefined);
      // Changes from here on are announced to this proxy.
      await subscribed;
      return () => {
        unwatched = true;
        return closeClient(subscriber);
      };
    },
    close: () => {
      closing = true;
      return closeClient(redis);
    },
  };
}
