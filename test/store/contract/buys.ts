/** Buys and metered usage. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  buy,
  type ContractContext,
  orion,
  rejectsWith,
  subscription,
  weather,
} from './fixtures.ts';

export function buysContract({ store, database }: ContractContext): void {
  describe('buys and usage', () => {
    test('keeps the marketplace terms of a buy, replaced when it is bought again with others', async () => {
      await store.addService(weather);
      const terms = {
        customerKeys: ['urn:ngsi-ld:organization:acme', 'acme-idm', 'did:elsi:VATES-B1'],
        customerType: 'Organization',
        unitName: 'api call',
        usageSpecId: 'urn:ngsi-ld:usageSpecification:1',
        productHref: 'http://tmf/product/p',
        productName: 'oid-1',
      };
      const bought = await store.addBuy(buy('k1', { terms }));
      assert.deepEqual(bought.terms, terms);
      assert.deepEqual(await store.getBuy('k1'), buy('k1', { terms }));
      assert.deepEqual((await store.loadRoutingState()).buys, [buy('k1', { terms })]);
      // Revoked with usage left to report: kept, and active again when bought again.
      await store.addUsage([{ apiKey: 'k1', amount: 1 }]);
      await store.revokeBuy('k1');
      const next = { ...terms, customerKeys: ['urn:ngsi-ld:organization:acme'] };
      const again = await store.addBuy(
        buy('k-new', { orderId: 'order-k1', productId: 'product-k1', terms: next }),
      );
      assert.equal(again.apiKey, 'k1');
      assert.deepEqual(await store.getBuy('k1'), buy('k1', { terms: next }));
      // A purchase of the admin API has none, and buying again without terms keeps them.
      await store.addBuy(buy('k1'));
      assert.deepEqual((await store.getBuy('k1'))?.terms, next);
      assert.equal((await store.addBuy(buy('k2', { orderId: 'o-2' }))).terms, undefined);
    });

    test('stores buys and lists them by customer and service in purchase order', async () => {
      await store.addService(weather);
      await store.addService(orion);
      await store.addBuy(buy('k2'));
      await store.addBuy(buy('k1', { customer: 'bob' }));
      await store.addBuy(buy('k3', { publicPath: '/orion', unit: 'megabyte' }));
      assert.deepEqual(await store.getBuy('k1'), buy('k1', { customer: 'bob' }));
      assert.deepEqual(
        (await store.listBuys()).map((b) => b.apiKey),
        ['k2', 'k1', 'k3'],
      );
      assert.deepEqual(
        (await store.listBuys({ customer: 'alice' })).map((b) => b.apiKey),
        ['k2', 'k3'],
      );
      assert.deepEqual(
        (await store.listBuys({ publicPath: '/weather', customer: 'alice' })).map((b) => b.apiKey),
        ['k2'],
      );
      assert.deepEqual(await store.getUsage('k2'), {
        apiKey: 'k2',
        pending: 0,
        reported: 0,
        correlationNumber: 0,
      });
    });

    test('refuses a buy for an unknown service', async () => {
      await rejectsWith(store.addBuy(buy('k1', { publicPath: '/missing' })), 'SERVICE_NOT_FOUND');
      assert.equal(await store.getBuy('k1'), undefined);
    });

    test('buying the same thing again returns the same buy and keeps its usage', async () => {
      await store.addService(weather);
      assert.deepEqual(await store.addBuy(buy('k1')), buy('k1'));
      await store.addUsage([{ apiKey: 'k1', amount: 5 }]);
      // A new candidate key for the same order, product, customer and path changes nothing.
      assert.deepEqual(
        await store.addBuy(buy('k2', { orderId: 'order-k1', productId: 'product-k1' })),
        buy('k1'),
      );
      assert.equal(await store.getBuy('k2'), undefined);
      assert.equal((await store.getUsage('k1'))?.pending, 5);
      assert.deepEqual(await store.findBuy(buy('k1')), buy('k1'));
    });

    test('refuses to change the unit of a buy with pending usage, and allows it without', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addUsage([{ apiKey: 'k1', amount: 5 }]);
      const megabytes = { unit: 'megabyte', recordType: 'datausage' };
      await rejectsWith(store.addBuy(buy('k1', megabytes)), 'BUY_UNIT_CHANGE');
      assert.equal((await store.getBuy('k1'))?.unit, 'call');
      await store.addBuy(buy('k2'));
      assert.deepEqual(await store.addBuy(buy('k2', megabytes)), buy('k2', megabytes));
      assert.deepEqual(await store.getBuy('k2'), buy('k2', megabytes));
    });

    test('adds a batch of increments and ignores unknown buys', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addBuy(buy('k2'));
      await store.addUsage([
        { apiKey: 'k1', amount: 1 },
        { apiKey: 'k2', amount: 0.25 },
        { apiKey: 'gone', amount: 7 },
        { apiKey: 'k1', amount: 1.5 },
      ]);
      assert.equal((await store.getUsage('k1'))?.pending, 2.5);
      assert.equal((await store.getUsage('k2'))?.pending, 0.25);
      assert.equal(await store.getUsage('gone'), undefined);
    });

    test('rejects a batch with a negative or non-finite amount and applies none of it', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await rejectsWith(
          store.addUsage([
            { apiKey: 'k1', amount: 1 },
            { apiKey: 'k1', amount: bad },
          ]),
          'INVALID_AMOUNT',
        );
      }
      assert.equal((await store.getUsage('k1'))?.pending, 0);
    });

    test('applies a numbered batch once, even when it is sent again', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      const batch = (seq: number) => ({ writer: 'proxy-a', seq });
      await store.addUsage([{ apiKey: 'k1', amount: 1 }], batch(1));
      await store.addUsage([{ apiKey: 'k1', amount: 1 }], batch(1));
      await store.addUsage([{ apiKey: 'k1', amount: 2 }], batch(2));
      await store.addUsage([{ apiKey: 'k1', amount: 4 }], { writer: 'proxy-b', seq: 1 });
      await store.addUsage([{ apiKey: 'k1', amount: 2 }], batch(2));
      assert.equal((await store.getUsage('k1'))?.pending, 7);
    });

    test('revoking a buy with pending usage hides it but keeps its usage for reporting', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addUsage([{ apiKey: 'k1', amount: 1 }]);
      const before = await store.routingVersion();
      await store.revokeBuy('k1');
      assert.ok((await store.routingVersion()) > before);
      assert.equal(await store.getBuy('k1'), undefined);
      assert.equal(await store.findBuy(buy('k1')), undefined);
      assert.deepEqual(await store.listBuys(), []);
      assert.deepEqual((await store.loadRoutingState()).buys, []);
      assert.equal((await store.getUsage('k1'))?.pending, 1);
      await rejectsWith(store.revokeBuy('k1'), 'BUY_NOT_FOUND');
      await rejectsWith(store.deleteService('/weather'), 'SERVICE_HAS_BUYS');
    });

    test('buying a revoked buy again restores it with its key and usage', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addUsage([{ apiKey: 'k1', amount: 2 }]);
      await store.revokeBuy('k1');
      const again = await store.addBuy(
        buy('other-key', { orderId: 'order-k1', productId: 'product-k1' }),
      );
      assert.deepEqual(again, buy('k1'));
      assert.deepEqual(await store.getBuy('k1'), buy('k1'));
      assert.equal((await store.getUsage('k1'))?.pending, 2);
      assert.deepEqual(
        (await store.listBuys()).map((b) => b.apiKey),
        ['k1'],
      );
    });

    test('revoking a buy without pending usage removes it with its subscriptions', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addSubscription(subscription('s1', 'k1'));
      await store.revokeBuy('k1');
      assert.equal(await store.getBuy('k1'), undefined);
      assert.equal(await store.getUsage('k1'), undefined);
      assert.equal(await store.getSubscription('s1'), undefined);
      assert.deepEqual(await store.listBuys({ customer: 'alice' }), []);
      await store.deleteService('/weather');
      // and the same purchase can be made afresh
      await store.addService(weather);
      assert.deepEqual(await store.addBuy(buy('k9')), buy('k9'));
    });

    test('refuses to revoke an unknown buy', async () => {
      await rejectsWith(store.revokeBuy('nope'), 'BUY_NOT_FOUND');
    });

    test('2,000 concurrent increments of 0.5 from two processes end at exactly 1000', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      const worker = fileURLToPath(new URL('../increment-worker.ts', import.meta.url));
      const runWorker = () =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', worker], {
            env: { ...process.env, STORE_DATABASE: JSON.stringify(database()) },
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          child.once('error', reject);
          child.once('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`worker exited ${code}`)),
          );
        });
      await Promise.all([runWorker(), runWorker()]);
      assert.equal((await store.getUsage('k1'))?.pending, 1000);
    });
  });
}
