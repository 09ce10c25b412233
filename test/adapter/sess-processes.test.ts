/**
 * The adapter API in real proxy processes (`npm start`'s entry point): kill -9 between updates and
 * their commits, and two proxies on one Redis each serving one adapter. What the adapters saw pass
 * reaches the TMF635 test server exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { httpTransport, sessClient, wsTransport } from '../support/adapter-client.ts';
import { addAdapterProduct } from '../support/adapter-service.ts';
import { cli } from '../support/cli.ts';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { databaseEnv, type ProxyProcess, startProxyProcess } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

const MB = 1024 * 1024;

async function newBuy(proxyUrl: string, publicPath: string, customer: string) {
  const answer = await request(`${proxyUrl}/accounting_proxy/newBuy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      orderId: `o-${customer}`,
      productId: `p-${customer}`,
      customer,
      productSpecification: {
        url: `${proxyUrl}${publicPath}`,
        unit: 'megabyte',
        recordType: 'data',
      },
    }),
  });
  assert.equal(answer.status, 201, answer.body.toString());
}

async function clientKeyOf(store: Store, customer: string) {
  const [buy] = await store.listBuys({ customer });
  assert.ok(buy?.access);
  return buy.access;
}

const adapterService = (env: Record<string, string>, publicPath: string) =>
  addAdapterProduct(env, { publicPath, url: 'vpn.example.com:1194', appId: 'app' });

for (const backend of storeBackends()) {
  describe(`adapter API processes on ${backend.name}`, () => {
    let usage: FakeUsageApi;
    const stores: Store[] = [];
    const proxies: ProxyProcess[] = [];
    const open = async (database: Parameters<typeof openStore>[0]) => {
      const store = await openStore(database);
      stores.push(store);
      return store;
    };
    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
    });
    after(async () => {
      await Promise.all(proxies.map((p) => p.stop('SIGKILL')));
      await Promise.all(stores.map((s) => s.close()));
      await usage.stop();
    });

    test('kill -9 between updates and their commits loses nothing the adapter saw acknowledged', async () => {
      const database = backend.database();
      const adapterPort = await freePort();
      const env = {
        ...databaseEnv(database),
        ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
        ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
        ACCOUNTING_PROXY_ADAPTER_PORT: String(adapterPort),
      };
      const credentials = await adapterService(env, '/vpn');
      let proxy = await startProxyProcess(env);
      proxies.push(proxy);
      const store = await open(database);
      await store.addMarketplaceKey(usage.token, new Date());
      usage.contract('o-kim', 'p-kim', 'kim', ['megabyte']);
      await newBuy(proxy.url, '/vpn', 'kim');
      const { clientKey } = await clientKeyOf(store, 'kim');
      const sess = sessClient(
        httpTransport(`http://127.0.0.1:${adapterPort}`),
        credentials.product,
        credentials.password,
      );
      assert.deepEqual(
        await sess.startSession(clientKey, '10.8.0.9', 1194).then((a) => a.error),
        undefined,
      );

      let total = 0;
      for (let tick = 0; tick < 20; tick++) {
        total += 98_765;
        assert.deepEqual(await sess.updateSession(clientKey, total), { result: null });
      }
      // Five ticks sent in a row on the adapter's WebSocket (in order, as it sends them), and the
      // proxy killed while they are being received and committed.
      const socket = await wsTransport(`http://127.0.0.1:${adapterPort}`);
      const overSocket = sessClient(socket, credentials.product, credentials.password);
      const inFlight = [1, 2, 3, 4, 5].map((n) =>
        overSocket.updateSession(clientKey, total + n * 12_345),
      );
      proxy.child.kill('SIGKILL');
      await proxy.exited;
      await Promise.all(inFlight);
      await socket.close();
      total += 5 * 12_345;

      proxy = await startProxyProcess(env);
      proxies.push(proxy);
      // The adapter resends its latest total (twice: its retry crossed our answer), then goes on.
      assert.deepEqual(await sess.updateSession(clientKey, total), { result: null });
      assert.deepEqual(await sess.updateSession(clientKey, total), { result: null });
      total += 3 * MB + 7;
      assert.deepEqual(await sess.updateSession(clientKey, total), { result: null });
      assert.deepEqual(await sess.stopSession(clientKey), { result: null });

      const report = await cli(env, 'report');
      assert.equal(report.code, 0, report.stderr);
      assert.deepEqual(usage.rejected(), []);
      assert.equal(usage.accepted('o-kim', 'p-kim').sum, total / MB);
      const [bought] = await store.listBuys({ customer: 'kim' });
      assert.equal((await store.getUsage(bought?.apiKey ?? ''))?.pending, 0);
      // The proxies logged at info all along: no password and no key in any line.
      for (const secret of [credentials.password, bought?.access?.clientPassword, bought?.apiKey]) {
        assert.ok(secret);
        for (const p of proxies) assert.ok(!p.output().includes(secret), 'a secret was logged');
      }
      await proxy.stop();
    });

    if (backend.name === 'Redis') {
      test('two proxies on one Redis, one adapter each: each byte reported once', async () => {
        const database = backend.database();
        const [portA, portB] = [await freePort(), await freePort()];
        const common = {
          ...databaseEnv(database),
          ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
          // Both proxies run cycles every second: only the store lock keeps them from sending twice.
          ACCOUNTING_PROXY_USAGE_SCHEDULE: '* * * * * *',
        };
        const productA = await adapterService(common, '/vpn-a');
        const productB = await adapterService(common, '/vpn-b');
        const proxyA = await startProxyProcess({
          ...common,
          ACCOUNTING_PROXY_ADAPTER_PORT: String(portA),
        });
        const proxyB = await startProxyProcess({
          ...common,
          ACCOUNTING_PROXY_ADAPTER_PORT: String(portB),
        });
        proxies.push(proxyA, proxyB);
        const store = await open(database);
        await store.addMarketplaceKey(usage.token, new Date());
        usage.contract('o-ann', 'p-ann', 'ann', ['megabyte']);
        usage.contract('o-ben', 'p-ben', 'ben', ['megabyte']);

        const adapterA = await wsTransport(`http://127.0.0.1:${portA}`);
        const adapterB = await wsTransport(`http://127.0.0.1:${portB}`);
        const sessA = sessClient(adapterA, productA.product, productA.password);
        const sessB = sessClient(adapterB, productB.product, productB.password);
        await sessA.subscribe();
        await sessB.subscribe();
        // Bought through the other proxy: the change reaches each adapter's proxy through Redis.
        await newBuy(proxyB.url, '/vpn-a', 'ann');
        await newBuy(proxyA.url, '/vpn-b', 'ben');
        const ann = await clientKeyOf(store, 'ann');
        const ben = await clientKeyOf(store, 'ben');
        await adapterA.notification((n) => n.channel === ann.clientKey && n.command === 'start');
        await adapterB.notification((n) => n.channel === ben.clientKey && n.command === 'start');
        assert.ok(!adapterA.notifications.some((n) => n.channel === ben.clientKey));

        const sessions = [
          { sess: sessA, access: ann, totals: [MB, 3 * MB + 1, 3 * MB + 1, 10 * MB + 77] },
          { sess: sessB, access: ben, totals: [5, 5, 2 * MB, 6 * MB + 3] },
        ];
        await Promise.all(
          sessions.map(async ({ sess, access, totals }) => {
            await sess.serviceReady(access.clientKey);
            await sess.authClient(access.clientKey, access.clientPassword);
            await sess.startSession(access.clientKey, '10.8.0.10', 1194);
            for (const units of totals) await sess.updateSession(access.clientKey, units);
            await sess.stopSession(access.clientKey);
          }),
        );
        await eventually(
          () =>
            usage.accepted('o-ann', 'p-ann').sum === (10 * MB + 77) / MB &&
            usage.accepted('o-ben', 'p-ben').sum === (6 * MB + 3) / MB,
          15_000,
        );
        // Each record judged guided, each number once: no cycle of one proxy resent the other's.
        assert.deepEqual(usage.rejected(), []);
        for (const order of ['o-ann', 'o-ben']) {
          const numbers = usage
            .recordsOf(order)
            .map((r) => JSON.stringify(r.body.usageCharacteristic));
          assert.equal(new Set(numbers).size, numbers.length);
        }
        assert.ok(!usage.records.some((r) => r.verdict === 'duplicate'));
        await adapterA.close();
        await adapterB.close();
      });
    }
  });
}
