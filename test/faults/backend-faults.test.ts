import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { sustainedLoad } from '../support/load.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';

for (const backend of storeBackends()) {
  describe(`backends failing under sustained load on ${backend.name}`, () => {
    const servers = suiteServers();

    test('refused, reset, reset mid-body and hanging backends: 502/504 or a cut body, never billed, process healthy', async () => {
      const database = backend.database();
      const store = await seedOneBuy(database, servers.api.url);
      // A service whose backend refuses connections: nothing listens on its port.
      await store.addService({
        publicPath: '/dead',
        url: `http://127.0.0.1:${await freePort()}`,
        appId: 'app-1',
        methods: ['GET'],
        isContextBroker: false,
      });
      await store.addBuy({
        apiKey: 'key-dead',
        publicPath: '/dead',
        orderId: 'o2',
        productId: 'p2',
        customer: 'alice',
        unit: 'call',
        recordType: 'callusage',
      });
      const proxy = await startProxyProcess({
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
        ACCOUNTING_PROXY_BACKEND_TIMEOUT: '300',
      });
      const failing = sustainedLoad(proxy.url, {
        concurrency: 10,
        paths: ['/svc/echo', '/svc/reset', '/svc/reset-mid-body', '/svc/hang', '/svc/slow-body'],
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key' },
      });
      const refused = sustainedLoad(proxy.url, {
        concurrency: 4,
        paths: ['/dead/anything'],
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key-dead' },
      });
      try {
        await eventually(
          () =>
            failing.count(200) >= 20 &&
            failing.count(502) >= 20 &&
            failing.count(504) >= 20 &&
            failing.tally.broken >= 40 &&
            refused.count(502) >= 50,
          30_000,
        );
        const [tally, refusedTally] = [await failing.stop(), await refused.stop()];
        assert.deepEqual(
          [...tally.statuses.keys()].sort(),
          [200, 502, 504],
          'a reset is 502, silence past the timeout 504; bodies cut mid-way are broken off',
        );
        assert.deepEqual([...refusedTally.statuses.keys()], [502]);
        assert.equal(refusedTally.broken, 0);

        // Only the complete exchanges (the echoes) are billed.
        await eventually(
          async () => (await store.getUsage('key'))?.pending === tally.statuses.get(200),
        );
        assert.equal((await store.getUsage('key-dead'))?.pending ?? 0, 0);

        assert.equal(proxy.child.exitCode, null, 'the proxy never exited');
        const after = await request(`${proxy.url}/svc/echo`, {
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key' },
        });
        assert.equal(after.status, 200, 'still serving');
        assert.doesNotMatch(proxy.output(), /uncaught|unhandled/i);
      } finally {
        await failing.stop();
        await refused.stop();
        await proxy.stop();
        await store.close();
      }
    });
  });
}
