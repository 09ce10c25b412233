import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type Config, defaultConfig } from '../../config.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

export interface StoreBackend {
  name: 'SQLite' | 'Redis';
  /** A fresh, empty database configuration (a new file, or a new Redis key prefix). */
  database(): Config['database'];
  redis(): RedisServer | undefined;
}

/**
 * Both stores for a test file: a temporary SQLite directory and a real redis-server started
 * before the file's tests and stopped after them.
 */
export function storeBackends(): StoreBackend[] {
  let redis: RedisServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ap-test-'));
  let counter = 0;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return [
    {
      name: 'SQLite',
      database: () => ({
        ...defaultConfig().database,
        type: 'sqlite',
        name: join(dir, `db-${++counter}.sqlite`),
      }),
      redis: () => undefined,
    },
    {
      name: 'Redis',
      database: () => {
        if (!redis) throw new Error('redis-server not started');
        return {
          ...defaultConfig().database,
          type: 'redis',
          name: '0',
          redis_host: '127.0.0.1',
          redis_port: redis.port,
          redis_prefix: `t${++counter}:`,
        };
      },
      redis: () => redis,
    },
  ];
}
