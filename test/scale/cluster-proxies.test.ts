/**
 * Three proxies on one real three-primary Redis Cluster: traffic through all of them, each buy's
 * usage accepted once at the TMF635 test server, one report cycle at a time, and a deleteBuy
 * through one proxy refused by the two others within a second.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Config, defaultConfig } from '../../config.ts';
import { openStore } from '../../src/store/open.ts';
import { deleteBuy, eventually, request } from '../support/client.ts';
import { keyrockUser } from '../support/idm.ts';
import { databaseEnv, type ProxyProcess, startProxyProcess } from '../support/proxy-process.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { suiteServers } from '../support/suite-servers.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

const BUYERS = ['alice', 'bob', 'carol'];
const REQUESTS_PER_PROXY = 20;

describe('three proxies on a Redis Cluster', () => {
  const servers = suiteServers();
  let cluster: RedisCluster;
  let usage: FakeUsageApi;
  before(async () => {
    cluster = await startRedisCluster();
    usage = new FakeUsageApi();
    await usage.start();
    for (const buyer of BUYERS) {
      usage.contract(`order-${buyer}`, 'p', buyer, ['call']);
      servers.idm.users.set(`${buyer}-token`, keyrockUser(buyer, 'app-1'));
    }
  });
  after(async () => {
    await usage.stop();
    await cluster.stop();
  });

  test('every buy is billed once for the calls through all three, one report cycle at a time, a deleteBuy is seen by all within 1 s', async () => {
    const database: Config['database'] = {
      ...defaultConfig().database,
      type: 'redis',
      name: '0',
      redis_cluster: cluster.seeds,
      redis_prefix: 'three:',
    };
    const store = await openStore(database);
    const proxies: ProxyProcess[] = [];
    try {
      await store.addService({
        publicPath: '/svc',
        url: servers.api.url,
        appId: 'app-1',
        methods: ['GET'],
        isContextBroker: false,
      });
      for (const buyer of BUYERS) {
        await store.addBuy({
          apiKey: `key-${buyer}`,
          publicPath: '/svc',
          orderId: `order-${buyer}`,
          productId: 'p',
          customer: buyer,
          unit: 'call',
          recordType: 'callusage',
        });
      }
      await store.addMarketplaceKey(usage.token, new Date());
      // A slow marketplace widens the window in which two cycles would overlap.
      let answering = 0;
      let mostAtOnce = 0;
      usage.beforeAnswer = async () => {
        answering++;
        mostAtOnce = Math.max(mostAtOnce, answering);
        await new Promise((resolve) => setTimeout(resolve, 10));
        answering--;
      };
      const env = {
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
        ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
        ACCOUNTING_PROXY_USAGE_SCHEDULE: '* * * * * *',
      };
      for (let i = 0; i < 3; i++) proxies.push(await startProxyProcess(env));

      const call = (proxy: ProxyProcess, buyer: string) =>
        request(`${proxy.url}/svc/echo`, {
          headers: { 'x-auth-token': `${buyer}-token`, 'x-api-key': `key-${buyer}` },
        });
      await Promise.all(
        proxies.flatMap((proxy) =>
          BUYERS.map(async (buyer) => {
            for (let i = 0; i < REQUESTS_PER_PROXY; i++) {
              assert.equal((await call(proxy, buyer)).status, 200);
            }
          }),
        ),
      );
      for (const buyer of BUYERS) {
        await eventually(
          () => usage.accepted(`order-${buyer}`, 'p').sum === 3 * REQUESTS_PER_PROXY,
          15_000,
        );
        const { numbers } = usage.accepted(`order-${buyer}`, 'p');
        assert.deepEqual(
          numbers,
          numbers.map((_, i) => i),
        );
      }
      assert.deepEqual(usage.rejected(), []);
      assert.equal(mostAtOnce, 1, 'one report cycle at a time');

      const [first, ...others] = proxies;
      if (!first) throw new Error('no proxy');
      const deleted = await deleteBuy(first.url, {
        orderId: 'order-alice',
        productId: 'p',
        customer: 'alice',
        publicPath: '/svc',
      });
      assert.equal(deleted.status, 204);
      const revokedAt = performance.now();
      await Promise.all(
        others.map((proxy) =>
          eventually(async () => (await call(proxy, 'alice')).status === 401, 1000),
        ),
      );
      assert.ok(performance.now() - revokedAt <= 1000);
      for (const proxy of proxies) assert.equal((await call(proxy, 'bob')).status, 200);
    } finally {
      usage.beforeAnswer = undefined;
      await Promise.all(proxies.map((proxy) => proxy.stop()));
      await store.close();
    }
  });
});
