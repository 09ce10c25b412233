import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { keyrockUser } from '../support/idm.ts';
import { sustainedLoad } from '../support/load.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';

for (const backend of storeBackends()) {
  describe(`IdM down under sustained load, then back, on ${backend.name}`, () => {
    const servers = suiteServers();
    before(() => {
      servers.idm.users.set('alice-new-token', keyrockUser('alice', 'app-1'));
    });

    test('cached tokens keep working, new tokens get 503, and it recovers without a restart', async () => {
      const database = backend.database();
      const store = await seedOneBuy(database, servers.api.url);
      const proxy = await startProxyProcess({
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
        ACCOUNTING_PROXY_IDM_TIMEOUT: '2000',
      });
      const load = sustainedLoad(proxy.url, {
        concurrency: 8,
        paths: ['/svc/echo'],
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key' },
      });
      const newcomer = { 'x-auth-token': 'alice-new-token', 'x-api-key': 'key' };
      try {
        await eventually(() => load.count(200) >= 100, 10_000);
        await servers.idm.goDown();
        const okWhenDown = load.count(200);

        const refused = await request(`${proxy.url}/svc/echo`, { headers: newcomer });
        assert.equal(refused.status, 503);
        assert.deepEqual(refused.json(), { error: 'Identity manager unavailable' });
        // The cached token is served throughout the outage.
        await eventually(() => load.count(200) >= okWhenDown + 300, 10_000);

        await servers.idm.comeBack();
        await eventually(
          async () =>
            (await request(`${proxy.url}/svc/echo`, { headers: newcomer })).status === 200,
          10_000,
        );
        const tally = await load.stop();
        assert.deepEqual([...tally.statuses.keys()], [200], 'the load only ever saw 200');
        assert.equal(tally.broken, 0);
        assert.equal(servers.idm.calls.get('alice-token'), 1, 'one IdM call for the cached token');
        assert.equal(proxy.child.exitCode, null, 'the proxy never exited');
        assert.equal((await store.getUsage('key'))?.pending, load.count(200) + 1);
      } finally {
        await load.stop();
        await proxy.stop();
        await store.close();
      }
    });
  });
}
