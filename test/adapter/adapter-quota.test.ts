/**
 * An adapter buy with a quota, on both stores: its sessions are metered until the quota is spent,
 * then its adapter gets `stop` on connChange and its updates and starts the dappctrl error for a
 * channel that may not be served; the next period renews it and `start` comes (a test clock two
 * seconds before a UTC day ends).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sessClient, sessError, wsTransport } from '../support/adapter-client.ts';
import { addAdapterProduct } from '../support/adapter-service.ts';
import { request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { keyrockUser } from '../support/idm.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';
import { type TestClock, testClock } from '../support/test-clock.ts';

const MB = 1024 * 1024;
const NON_ACTIVE = sessError('non-active channel', 1236228);

for (const backend of storeBackends()) {
  describe(`an adapter buy with a quota, ${backend.name}`, () => {
    let f: ProxyFixture;
    let clock: TestClock;
    let product: { product: string; password: string };

    before(async () => {
      clock = testClock(Date.parse('2026-12-06T23:59:58.000Z'));
      const database = backend.database();
      f = await startProxyFixture(
        database,
        { ACCOUNTING_PROXY_ADAPTER_PORT: String(await freePort()) },
        { clock },
      );
      product = await addAdapterProduct(databaseEnv(database), {
        publicPath: '/vpn',
        url: 'openvpn://127.0.0.1:1194',
        appId: APP_ID,
      });
    });
    after(() => f.close());

    test('10 MB a day: stop once spent, the error on its updates, start when the day renews', async () => {
      f.idm.users.set('vpn-token', keyrockUser('vpn-buyer', APP_ID));
      const bought = await request(`${f.url}/accounting_proxy/newBuy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          orderId: 'o-vpn',
          productId: 'p-vpn',
          customer: 'vpn-buyer',
          productSpecification: { url: `${f.url}/vpn`, unit: 'megabyte', recordType: 'data' },
        }),
      });
      assert.equal(bought.status, 201, bought.body.toString());
      const keys = await request(`${f.url}/accounting_proxy/keys`, {
        headers: { authorization: 'Bearer vpn-token' },
      });
      const [entry] = keys.json<{ apiKey: string; access: { clientKey: string } }[]>();
      assert.ok(entry);
      const { clientKey } = entry.access;
      await f.store.setLimits(
        '/vpn',
        { quota: { amount: 10, period: 'day' } },
        { orderId: 'o-vpn', productId: 'p-vpn' },
      );
      await f.proxy.routing.recheck();

      const ws = await wsTransport(`http://127.0.0.1:${f.proxy.adapterPort}`);
      try {
        const sess = sessClient(ws, product.product, product.password);
        await sess.subscribe();
        const mine = (command: string) => (n: { channel: string; command: string }) =>
          n.channel === clientKey && n.command === command;
        assert.ok((await sess.startSession(clientKey, '10.8.0.6', 51234)).result);
        assert.deepEqual(await sess.updateSession(clientKey, 6 * MB), { result: null });
        // The update that spends the quota is metered, then answered with the error.
        assert.deepEqual(await sess.updateSession(clientKey, 10 * MB + 1), NON_ACTIVE);
        await ws.notification(mine('stop'));
        assert.deepEqual(await sess.updateSession(clientKey, 12 * MB), NON_ACTIVE);
        assert.deepEqual(await sess.stopSession(clientKey), { result: null });
        assert.deepEqual(await sess.startSession(clientKey, '10.8.0.6', 51234), NON_ACTIVE);
        const usage = await f.store.getUsage(entry.apiKey);
        assert.equal(usage?.pending, 12, 'every byte the adapter reported metered once');
        // A new UTC day renews the quota.
        clock.advance(3000);
        await ws.notification(mine('start'), 10_000);
        assert.ok((await sess.startSession(clientKey, '10.8.0.6', 51234)).result);
      } finally {
        await ws.close();
      }
    });
  });
}
