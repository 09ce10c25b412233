/** The store contract on a real three-primary Redis Cluster: the same suite as on one server. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Config, defaultConfig } from '../../config.ts';
import { redisConnectionOptions } from '../../src/store/open.ts';
import { closeClient, connectRedis } from '../../src/store/redis/connection.ts';
import { openRedisStore } from '../../src/store/redis/index.ts';
import { eventually } from '../support/client.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { SESSION_RATES } from '../support/session-rates.ts';
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
  openRedisStore({ ...redisConnectionOptions(databaseOf(prefix)), sessionRates: SESSION_RATES });

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

test('a client closed while its periodic slots refresh is in flight leaves no timer behind', async () => {
  const { redis } = await connectRedis(redisConnectionOptions(databaseOf('refresh:')));
  // ioredis keeps these private; reading them is the only way to see the race without waiting
  // for a process that never ends.
  const internals = redis as unknown as { isRefreshing: boolean; slotsTimer: unknown };
  // Paused nodes hold the periodic refresh (its next round comes within slotsRefreshInterval)
  // in flight for slotsRefreshTimeout a node, and QUIT unanswered.
  const pids = cluster.nodes.map((node) => node.pid);
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  try {
    await eventually(() => internals.isRefreshing, 10_000);
    await closeClient(redis);
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  await eventually(() => !internals.isRefreshing, 10_000);
  assert.equal(internals.slotsTimer, null);
});
