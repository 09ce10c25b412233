/**
 * The scenario of test/faults/redis-failover-*.test.ts (one file per topology, so each has CI's
 * whole per-file budget): the Redis primary that holds the store killed (-9) under load, with
 * ACCOUNTING_PROXY_REDIS_WAIT_REPLICAS=1: on a Sentinel group and on a Cluster, real servers. Each
 * primary has two replicas, so that after one is promoted a commit can still reach a replica.
 * Asserted at the TMF635 test server: every exchange a client completed is billed exactly once.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Config, defaultConfig } from '../../config.ts';
import type { Store } from '../../src/store/store.ts';
import { deleteBuy, eventually, request } from './client.ts';
import { keyrockUser } from './idm.ts';
import { sustainedLoad } from './load.ts';
import { databaseEnv, type ProxyProcess, startProxyProcess } from './proxy-process.ts';
import { startRedisCluster } from './redis-cluster.ts';
import { MASTER_NAME, startSentinelGroup } from './redis-sentinel.ts';
import type { RedisServer } from './redis-server.ts';
import { seedOneBuy } from './seed.ts';
import { suiteServers } from './suite-servers.ts';
import { FakeUsageApi } from './usage-server.ts';

export interface Topology {
  name: string;
  start(): Promise<{
    database: Config['database'];
    /** The server holding the store now. */
    primary(): Promise<RedisServer>;
    stop(): Promise<void>;
  }>;
}

const CLI = fileURLToPath(new URL('../../cli/cli', import.meta.url));
const PREFIX = 'failover:';
const base = (): Config['database'] => ({
  ...defaultConfig().database,
  type: 'redis',
  name: '0',
  redis_prefix: PREFIX,
  redis_wait_replicas: 1,
});

export const sentinelTopology: Topology = {
  name: 'a Sentinel group',
  async start() {
    const group = await startSentinelGroup({ replicas: 2 });
    return {
      database: {
        ...base(),
        redis_sentinels: group.sentinels,
        redis_sentinel_name: MASTER_NAME,
      },
      primary: () => group.primary(),
      stop: () => group.stop(),
    };
  },
};

export const clusterTopology: Topology = {
  name: 'a Cluster',
  async start() {
    const cluster = await startRedisCluster({ replicas: 2 });
    return {
      database: { ...base(), redis_cluster: cluster.seeds },
      primary: () => cluster.primaryOf(`{${PREFIX}}buys`),
      stop: () => cluster.stop(),
    };
  },
};

export function failoverScenario(topology: Topology): void {
  describe(`the store's Redis primary killed under load on ${topology.name}`, () => {
    const servers = suiteServers();
    let usage: FakeUsageApi;
    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
      usage.contract('o', 'p', 'alice', ['call']);
      servers.idm.users.set('root-token', keyrockUser('root', 'app-1'));
    });
    after(() => usage.stop());

    test('buyers see 503 only during the failover, both proxies resume by themselves, every completed exchange is billed once', async (t) => {
      const redis = await topology.start();
      let store: Store | undefined;
      const proxies: ProxyProcess[] = [];
      const buyer = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };
      try {
        store = await seedOneBuy(redis.database, servers.api.url);
        await store.addMarketplaceKey(usage.token, new Date());
        await store.close();
        store = undefined;
        const env = {
          ...databaseEnv(redis.database),
          ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
          ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
          ACCOUNTING_PROXY_USAGE_SCHEDULE: '* * * * * *',
          ACCOUNTING_PROXY_USAGE_RETRY: '100',
        };
        for (let i = 0; i < 2; i++) proxies.push(await startProxyProcess(env));
        const loads = proxies.map((proxy) =>
          sustainedLoad(proxy.url, { concurrency: 4, paths: ['/svc/echo'], headers: buyer }),
        );
        const completed = () => loads.reduce((sum, load) => sum + load.count(200), 0);
        await eventually(() => loads.every((load) => load.count(200) >= 100), 15_000);

        const old = await redis.primary();
        const killedAt = performance.now();
        await old.kill();
        await eventually(async () => (await redis.primary().catch(() => old)) !== old, 20_000);
        t.diagnostic(
          `new primary elected ${Math.round(performance.now() - killedAt)} ms after the kill`,
        );
        // Recovered: each proxy serves its load again, without a restart.
        const resumedFrom = loads.map((load) => load.count(200));
        await eventually(
          () => loads.every((load, i) => load.count(200) >= (resumedFrom[i] ?? 0) + 100),
          30_000,
        ).catch((error: Error) => {
          // What the proxies said is what tells a slow failover from one they did not follow.
          for (const [i, proxy] of proxies.entries()) {
            t.diagnostic(
              `proxy ${i}: ${JSON.stringify(Object.fromEntries(loads[i]?.tally.statuses ?? []))}`,
            );
            t.diagnostic(
              proxy
                .output()
                .split('\n')
                .filter((l) => !l.includes('"log":"access"'))
                .slice(-15)
                .join('\n'),
            );
          }
          throw error;
        });
        const marks = loads.map((load) => load.mark());
        const okBefore = loads.map((load) => load.count(200));
        await eventually(
          () => loads.every((load, i) => load.count(200) >= (okBefore[i] ?? 0) + 50),
          20_000,
        );
        const tallies = await Promise.all(loads.map((load) => load.stop()));
        for (const [i, load] of loads.entries()) {
          assert.deepEqual(
            load.statusesSent(marks[i] ?? 0),
            new Set([200]),
            'after the failover, only 200s',
          );
          const statuses = new Set(tallies[i]?.statuses.keys());
          statuses.delete(200);
          statuses.delete(503);
          assert.deepEqual(statuses, new Set(), 'a buyer sees 200 or 503, nothing else');
          assert.equal(tallies[i]?.broken, 0, 'no exchange was cut off');
          assert.equal(proxies[i]?.child.exitCode, null, 'the proxy never exited');
        }
        for (const proxy of proxies) {
          const again = await request(`${proxy.url}/svc/echo`, { headers: buyer });
          assert.equal(again.status, 200);
        }
        const [first, second] = proxies as [ProxyProcess, ProxyProcess];
        // On the new primary: a CLI change is seen by the very next request, with no pause.
        const cli = (...argv: string[]) =>
          promisify(execFile)(CLI, argv, { env: { ...process.env, ...env } });
        await cli('addService', '/fresh', servers.api.url, 'app-1', 'GET');
        await cli('addAdmin', 'root');
        await cli('bindAdmin', 'root', '/fresh');
        const fresh = await request(`${second.url}/fresh/echo`, {
          headers: { 'x-auth-token': 'root-token' },
        });
        assert.equal(fresh.status, 200);
        const refused = tallies.reduce((sum, tally) => sum + (tally.statuses.get(503) ?? 0), 0);
        t.diagnostic(`${completed()} exchanges completed, ${refused} refused with 503`);
        const total = completed() + proxies.length;
        // Every completed exchange reaches the marketplace, once (records numbered 0, 1, 2, …).
        await eventually(() => usage.accepted('o', 'p').sum === total, 20_000).catch(
          (error: Error) => {
            const { sum, numbers } = usage.accepted('o', 'p');
            t.diagnostic(`billed ${sum} of ${total} in records ${numbers.join(',')}`);
            for (const [i, proxy] of proxies.entries()) {
              t.diagnostic(
                `proxy ${i}: ${proxy
                  .output()
                  .split('\n')
                  .filter((l) => !l.includes('"log":"access"'))
                  .slice(-15)
                  .join('\n')}`,
              );
            }
            throw error;
          },
        );
        assert.deepEqual(usage.rejected(), []);
        const { numbers } = usage.accepted('o', 'p');
        assert.deepEqual(
          numbers,
          numbers.map((_, i) => i),
        );
        // And a deleteBuy through one proxy is refused by the other within a second.
        const deleted = await deleteBuy(first.url, {
          orderId: 'o',
          productId: 'p',
          customer: 'alice',
          publicPath: '/svc',
        });
        assert.equal(deleted.status, 204);
        const revokedAt = performance.now();
        await eventually(
          async () => (await request(`${second.url}/svc/echo`, { headers: buyer })).status === 401,
          1000,
        );
        assert.ok(performance.now() - revokedAt <= 1000);
      } finally {
        await Promise.all(proxies.map((proxy) => proxy.stop()));
        await store?.close();
        await redis.stop();
      }
    });
  });
}
