import type { Config } from '../../config.ts';
import { openRedisStore } from './redis.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

export interface OpenStoreOptions {
  /** Fail at once when the store is unreachable, for one-shot commands like the CLI. */
  failFast?: boolean;
}

/** The store the configuration names. */
export async function openStore(
  database: Config['database'],
  options: OpenStoreOptions = {},
): Promise<Store> {
  if (database.type === 'redis') {
    return openRedisStore({
      host: database.redis_host,
      port: database.redis_port,
      db: Number(database.name),
      prefix: database.redis_prefix,
      failFast: options.failFast ?? false,
    });
  }
  return openSqliteStore({ filename: database.name });
}
