import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { defaultConfig } from '../../config.ts';
import { openRedisStore } from '../../src/store/redis/index.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { storeContract } from './contract/index.ts';

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

test('data of the first layout keeps its marketplace token as its only key', async () => {
  const prefix = 'legacy:';
  const raw = new Redis({ host: '127.0.0.1', port: server.port });
  await raw.set(`${prefix}marketplace-token`, 'legacy-token');
  const store = await openRedisStore({ host: '127.0.0.1', port: server.port, db: 0, prefix });
  try {
    assert.deepEqual(
      (await store.listMarketplaceKeys()).map((k) => [k.key, k.state]),
      [['legacy-token', 'untried']],
    );
    assert.equal(await raw.exists(`${prefix}marketplace-token`), 0);
    await store.addMarketplaceKey('new-key', new Date());
    const again = await openRedisStore({ host: '127.0.0.1', port: server.port, db: 0, prefix });
    assert.deepEqual(
      (await again.listMarketplaceKeys()).map((k) => k.key),
      ['new-key', 'legacy-token'],
      'the migration runs once',
    );
    await again.close();
  } finally {
    await store.close();
    raw.disconnect();
  }
});
