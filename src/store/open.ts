import type { Config } from '../../config.ts';
import type { Clock } from '../clock.ts';
import type { SessionRateTable } from './adapter.ts';
import type { RedisConnectionOptions } from './redis/connection.ts';
import type { CheckpointerOptions } from './sqlite/checkpointer.ts';
import type { Store } from './store.ts';

export interface OpenStoreOptions {
  /** Fail at once when the store is unreachable, for one-shot commands like the CLI. */
  failFast?: boolean;
  /** SQLite: checkpoint the WAL in a worker thread, off the event loop (the long-running proxy). */
  sqliteCheckpoints?: CheckpointerOptions;
  /** For lock expiry and dates the store writes itself. */
  clock?: Clock;
  /** How each unit meters an adapter session (the modules' `session`); none: sessions meter nothing. */
  sessionRates?: SessionRateTable;
}

/** The Redis connection the configuration names: one server, a Sentinel group or a Cluster. */
export function redisConnectionOptions(database: Config['database']): RedisConnectionOptions {
  return {
    topology:
      database.redis_cluster.length > 0
        ? { kind: 'cluster', nodes: database.redis_cluster }
        : database.redis_sentinels.length > 0
          ? {
              kind: 'sentinel',
              sentinels: database.redis_sentinels,
              name: database.redis_sentinel_name,
              sentinelPassword: database.redis_sentinel_password,
            }
          : { kind: 'single', host: database.redis_host, port: database.redis_port },
    db: Number(database.name),
    username: database.redis_username,
    password: database.redis_password,
    tls: database.redis_tls,
    tlsCaFile: database.redis_tls_ca,
    prefix: database.redis_prefix,
    waitReplicas: database.redis_wait_replicas,
  };
}

/**
 * The store the configuration names. Each implementation is loaded only when chosen: the Redis
 * client alone weighs some 20 MB of memory a SQLite deployment has no use for.
 */
export async function openStore(
  database: Config['database'],
  options: OpenStoreOptions = {},
): Promise<Store> {
  if (database.type === 'redis') {
    const { openRedisStore } = await import('./redis/index.ts');
    return openRedisStore({
      ...redisConnectionOptions(database),
      failFast: options.failFast ?? false,
      ...(options.clock && { clock: options.clock }),
      ...(options.sessionRates && { sessionRates: options.sessionRates }),
    });
  }
  const { openSqliteStore } = await import('./sqlite/index.ts');
  return openSqliteStore({
    filename: database.name,
    ...(database.sqlite_driver !== 'auto' && { driver: database.sqlite_driver }),
    ...(options.clock && { clock: options.clock }),
    ...(options.sqliteCheckpoints && { backgroundCheckpoints: options.sqliteCheckpoints }),
    ...(options.sessionRates && { sessionRates: options.sessionRates }),
  });
}
