import { after, before } from 'node:test';
import { defaultConfig } from '../../config.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { storeContract } from './contract.ts';

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(() => server.stop());
let prefixes = 0;

storeContract('Redis', {
  async create() {
    // A fresh key prefix per test isolates tests sharing one redis-server.
    const prefix = `test-${++prefixes}:`;
    const open = () => openRedisStore({ host: '127.0.0.1', port: server.port, db: 0, prefix });
    return {
      store: await open(),
      reopen: open,
      database: {
        ...defaultConfig().database,
        type: 'redis',
        name: '0',
        redis_host: '127.0.0.1',
        redis_port: server.port,
        redis_prefix: prefix,
      },
    };
  },
});
