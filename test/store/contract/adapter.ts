/** Adapter services: products, client credentials and sessions metered exactly once. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Product } from '../../../src/store/adapter.ts';
import type { Service } from '../../../src/store/store.ts';
import { buy, type ContractContext, rejectsWith, weather } from './fixtures.ts';

export const vpn: Service = {
  publicPath: '/vpn',
  url: 'openvpn://vpn.example.com:1194',
  appId: 'app-vpn',
  methods: [],
  isContextBroker: false,
  adapter: true,
};

const product = (overrides: Partial<Product> = {}): Product => ({
  productId: '7d5bd5e8-7cfd-4bd2-8d45-7dd6c6f0c8a1',
  publicPath: '/vpn',
  passwordHash: 'scrypt:hash-1',
  config: {},
  ...overrides,
});

const MB = 1024 * 1024;
const access = (clientKey: string) => ({ clientKey, clientPassword: `password-${clientKey}` });
const vpnBuy = (apiKey: string, unit = 'megabyte') =>
  buy(apiKey, { publicPath: '/vpn', unit, recordType: 'data', access: access(`client-${apiKey}`) });

export function adapterContract({ store, reopen }: ContractContext): void {
  describe('adapter services', () => {
    test('keeps an adapter service and its product, one per service', async () => {
      await store.addService(vpn);
      assert.deepEqual(await store.getService('/vpn'), vpn);
      assert.deepEqual((await store.loadRoutingState()).services, [vpn]);
      await store.setProduct(product({ config: { port: '1194' } }));
      assert.deepEqual(
        await store.getProduct(product().productId),
        product({ config: { port: '1194' } }),
      );
      assert.deepEqual(await store.findProduct('/vpn'), product({ config: { port: '1194' } }));
      await rejectsWith(store.setProduct(product({ productId: 'other' })), 'PRODUCT_EXISTS');

      // Rotating replaces the credentials and keeps the configuration.
      await store.setProduct(
        product({ productId: 'p-2', passwordHash: 'scrypt:hash-2', config: { proto: 'udp' } }),
        { replace: true },
      );
      assert.equal(await store.getProduct(product().productId), undefined);
      assert.deepEqual(await store.findProduct('/vpn'), {
        productId: 'p-2',
        publicPath: '/vpn',
        passwordHash: 'scrypt:hash-2',
        config: { port: '1194', proto: 'udp' },
      });
      await store.setProductConfig('p-2', { a: 'b' }, '203.0.113.7');
      assert.deepEqual(await store.getProduct('p-2'), {
        productId: 'p-2',
        publicPath: '/vpn',
        passwordHash: 'scrypt:hash-2',
        config: { a: 'b' },
        endpointAddress: '203.0.113.7',
      });
      await store.setProductConfig('p-2', {}, undefined);
      assert.deepEqual((await store.getProduct('p-2'))?.config, {});
      assert.equal((await store.getProduct('p-2'))?.endpointAddress, undefined);
      await rejectsWith(store.setProductConfig('nope', { a: 'b' }, undefined), 'PRODUCT_NOT_FOUND');

      await store.deleteService('/vpn');
      assert.equal(await store.findProduct('/vpn'), undefined);
      assert.equal(await store.getProduct('p-2'), undefined);
    });

    test('refuses a product for an unknown or an HTTP service', async () => {
      await store.addService(weather);
      await rejectsWith(
        store.setProduct(product({ publicPath: '/weather' })),
        'SERVICE_NOT_ADAPTER',
      );
      await rejectsWith(store.setProduct(product({ publicPath: '/none' })), 'SERVICE_NOT_FOUND');
    });

    test('a buy keeps its client credentials when bought again', async () => {
      await store.addService(vpn);
      assert.deepEqual(await store.addBuy(vpnBuy('k1')), vpnBuy('k1'));
      const again = await store.addBuy({
        ...vpnBuy('k2'),
        orderId: 'order-k1',
        productId: 'product-k1',
      });
      assert.deepEqual(again, vpnBuy('k1'));
      assert.deepEqual(await store.listBuys({ publicPath: '/vpn' }), [vpnBuy('k1')]);
      assert.deepEqual((await store.loadRoutingState()).buys, [vpnBuy('k1')]);
      assert.deepEqual(await store.getClient('client-k1'), {
        apiKey: 'k1',
        publicPath: '/vpn',
        unit: 'megabyte',
        access: access('client-k1'),
        revoked: false,
        ready: false,
        session: undefined,
      });
      assert.equal(await store.getClient('client-k2'), undefined);
      await store.setClientReady('client-k1');
      assert.equal((await store.getClient('client-k1'))?.ready, true);
    });

    test('meters a megabyte session by the totals the adapter reports, each byte once', async () => {
      await store.addService(vpn);
      await store.addBuy(vpnBuy('k1'));
      const key = 'client-k1';
      assert.deepEqual(await store.recordSession(key, { kind: 'update', units: 10 }, 1000), {
        result: 'no-session',
        amount: 0,
      });
      assert.equal((await store.recordSession(key, { kind: 'start' }, 1000)).amount, 0);
      assert.equal((await store.getClient(key))?.ready, true);
      const update = (units: number) => store.recordSession(key, { kind: 'update', units }, 2000);
      assert.deepEqual(await update(1.5 * MB), { result: 'recorded', amount: 1.5 });
      assert.deepEqual(await update(1.5 * MB), { result: 'recorded', amount: 0 });
      assert.equal((await update(1.5 * MB + 1)).amount, 1 / MB);
      // A total below the last one is a new count (the adapter restarted its counters).
      assert.equal((await update(3)).amount, 3 / MB);
      assert.deepEqual((await store.recordSession(key, { kind: 'stop' }, 3000)).result, 'recorded');
      assert.equal((await update(9 * MB)).result, 'no-session');
      assert.equal((await store.getUsage('k1'))?.pending, (1.5 * MB + 1 + 3) / MB);
      assert.deepEqual((await store.getClient(key))?.session, {
        total: 3,
        countedAt: 3000,
        open: false,
      });
    });

    test("spends a session's usage in its quota, refuses a start once spent, and tells others once", async () => {
      await store.addService(vpn);
      await store.addBuy(vpnBuy('k1'));
      const key = 'client-k1';
      const quota = { period: '2026-12', amount: 10 };
      const other = await reopen();
      const version = await other.routingVersion();
      const record = (event: Parameters<typeof store.recordSession>[1], q = quota) =>
        store.recordSession(key, event, 1000, q);
      assert.deepEqual(await record({ kind: 'start' }), {
        result: 'recorded',
        amount: 0,
        overQuota: false,
      });
      assert.deepEqual(await record({ kind: 'update', units: 6 * MB }), {
        result: 'recorded',
        amount: 6,
        overQuota: false,
      });
      assert.equal(await other.routingVersion(), version, 'usage under the quota changes nothing');
      assert.deepEqual(await record({ kind: 'update', units: 11 * MB }), {
        result: 'recorded',
        amount: 5,
        overQuota: true,
      });
      const spentAt = await other.routingVersion();
      assert.ok(spentAt > version, 'the update that spends it changes the routing version');
      assert.deepEqual(await record({ kind: 'stop' }), {
        result: 'recorded',
        amount: 0,
        overQuota: true,
      });
      assert.equal(await other.routingVersion(), spentAt, 'once only');
      assert.deepEqual(await record({ kind: 'start' }), { result: 'over-quota', amount: 0 });
      assert.equal((await store.getUsage('k1'))?.pending, 11, 'metered up to the suspension');
      const counters = await store.listLimitCounters();
      assert.deepEqual(
        counters.map((c) => [c.apiKey, c.quotaPeriod, c.quotaSpent]),
        [['k1', '2026-12', 11]],
      );
      // The next period starts from zero.
      const next = { period: '2027-01', amount: 10 };
      assert.deepEqual(await record({ kind: 'start' }, next), {
        result: 'recorded',
        amount: 0,
        overQuota: false,
      });
    });

    test('meters milliseconds of open session time and calls per started session', async () => {
      await store.addService(vpn);
      await store.addBuy(vpnBuy('ms', 'millisecond'));
      await store.addBuy(vpnBuy('c', 'call'));
      const ms = 'client-ms';
      await store.recordSession(ms, { kind: 'start' }, 10_000);
      assert.equal(
        (await store.recordSession(ms, { kind: 'update', units: 5 }, 15_000)).amount,
        5000,
      );
      // No new traffic: nothing yet, the time is metered by the next update or the stop.
      assert.equal((await store.recordSession(ms, { kind: 'update', units: 5 }, 16_000)).amount, 0);
      assert.equal((await store.recordSession(ms, { kind: 'stop' }, 17_500)).amount, 2500);
      assert.equal((await store.recordSession(ms, { kind: 'stop' }, 19_000)).amount, 0);
      assert.equal((await store.getUsage('ms'))?.pending, 7500);

      for (const at of [1, 2, 3]) await store.recordSession('client-c', { kind: 'start' }, at);
      await store.recordSession('client-c', { kind: 'update', units: 100 }, 4);
      assert.equal((await store.getUsage('c'))?.pending, 3);
      assert.equal((await store.recordSession('nobody', { kind: 'start' }, 1)).result, 'not-found');
    });

    test('a deleted buy meters its open session once more, then refuses it', async () => {
      await store.addService(vpn);
      await store.addBuy(vpnBuy('k1'));
      const key = 'client-k1';
      await store.recordSession(key, { kind: 'start' }, 1);
      await store.revokeBuy('k1');
      assert.equal(await store.getBuy('k1'), undefined);
      assert.equal((await store.getClient(key))?.revoked, true);
      assert.deepEqual(await store.recordSession(key, { kind: 'update', units: 2 * MB }, 2), {
        result: 'revoked',
        amount: 2,
      });
      assert.equal((await store.getClient(key))?.session?.open, false);
      assert.deepEqual(await store.recordSession(key, { kind: 'update', units: 4 * MB }, 3), {
        result: 'revoked',
        amount: 0,
      });
      assert.equal((await store.recordSession(key, { kind: 'start' }, 4)).result, 'revoked');
      const record = await store.prepareRecord('k1', new Date('2026-01-01T00:00:00Z'));
      assert.equal(record?.outbox.value, 2);
      assert.equal(await store.endedClient(key), undefined);
      await store.completeRecord('k1', 0);
      assert.equal(await store.getClient(key), undefined);
      assert.equal(await store.endedClient(key), '/vpn');
      assert.equal(
        (await store.recordSession(key, { kind: 'update', units: 9 }, 5)).result,
        'not-found',
      );
    });

    test('a deleted buy with nothing to report and no open session is gone at once', async () => {
      await store.addService(vpn);
      await store.addBuy(vpnBuy('k1'));
      await store.recordSession('client-k1', { kind: 'start' }, 1);
      await store.recordSession('client-k1', { kind: 'stop' }, 2);
      await store.revokeBuy('k1');
      assert.equal(await store.getClient('client-k1'), undefined);
      assert.equal(await store.endedClient('client-k1'), '/vpn');
      // Bought again after that: new credentials, as with a new API key.
      await store.addBuy(vpnBuy('k2'));
      assert.equal((await store.getClient('client-k2'))?.apiKey, 'k2');
    });

    test('the same update from two connections at once is metered once', async () => {
      await store.addService(vpn);
      await store.addBuy(vpnBuy('k1'));
      await store.recordSession('client-k1', { kind: 'start' }, 1);
      const other = await reopen();
      const results = await Promise.all(
        [store, other, store, other].map((s) =>
          s.recordSession('client-k1', { kind: 'update', units: 5 * MB }, 2),
        ),
      );
      assert.deepEqual(results.map((r) => r.amount).sort(), [0, 0, 0, 5]);
      assert.equal((await store.getUsage('k1'))?.pending, 5);
    });
  });
}
