/** The store contract on a real three-primary Redis Cluster: the same suite as on one server. */
import { after, before } from 'node:test';
import { type Config, defaultConfig } from '../../config.ts';
import { redisConnectionOptions } from '../../src/store/open.ts';
import { openRedisStore } from '../../src/store/redis/index.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { storeContract } from './contract/index.ts';

let cluster: RedisCluster;
before(async () => {
  cluster = await startRedisCluster();
});
after(() => cluster.stop());
let prefixes = 0;

const databaseOf = (prefix: string): Config['database'] => ({
  ...defaultConfig().database,
  type: 'redis',
  name: '0',
  redis_cluster: cluster.seeds,
  redis_prefix: prefix,
});
const openWithPrefix = (prefix: string) =>
  openRedisStore(redisConnectionOptions(databaseOf(prefix)));

storeContract('Redis Cluster', {
  async create() {
    // Prefixes hash to different slots: the tests' stores spread over the three primaries.
    const prefix = `cluster-${++prefixes}:`;
    return {
      store: await openWithPrefix(prefix),
      reopen: () => openWithPrefix(prefix),
      database: databaseOf(prefix),
    };
  },
});
