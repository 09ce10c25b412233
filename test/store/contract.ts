/**
 * The behaviour every Store must have. sqlite.test.ts and redis.test.ts run this same suite
 * against a real SQLite file and a real redis-server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.ts';
import { isProxyError } from '../../src/errors.ts';
import type { Buy, Service, Store, Subscription } from '../../src/store/store.ts';

export interface StoreFixture {
  store: Store;
  /** Another connection to the same data, as a second process would have. */
  reopen(): Promise<Store>;
  /** The database configuration a child process uses to reach the same data. */
  database: Config['database'];
}

export interface StoreHarness {
  create(): Promise<StoreFixture>;
}

const weather: Service = {
  publicPath: '/weather',
  url: 'http://localhost:5000',
  appId: 'app-1',
  methods: ['GET', 'POST'],
  isContextBroker: false,
};
const orion: Service = {
  publicPath: '/orion',
  url: 'http://orion:1026/base',
  appId: 'app-2',
  methods: ['GET', 'POST', 'PATCH', 'DELETE'],
  isContextBroker: true,
};
const buy = (apiKey: string, overrides: Partial<Buy> = {}): Buy => ({
  apiKey,
  publicPath: '/weather',
  orderId: `order-${apiKey}`,
  productId: `product-${apiKey}`,
  customer: 'alice',
  unit: 'call',
  recordType: 'callusage',
  ...overrides,
});

const subscription = (
  subscriptionId: string,
  apiKey: string,
  overrides: Partial<Subscription> = {},
): Subscription => ({
  subscriptionId,
  apiKey,
  notificationUrl: 'http://a/1',
  version: 'v2',
  secret: `secret-${subscriptionId}`,
  fiwareService: 'tenant',
  fiwareServicePath: '/rooms',
  ...overrides,
});

const rejectsWith = (promise: Promise<unknown>, code: Parameters<typeof isProxyError>[1]) =>
  assert.rejects(promise, (error) => isProxyError(error, code));

export function storeContract(name: string, harness: StoreHarness): void {
  describe(`${name} store contract`, () => {
    let fixture: StoreFixture;
    let store: Store;
    const opened: Store[] = [];

    beforeEach(async () => {
      fixture = await harness.create();
      store = fixture.store;
      opened.push(store);
    });
    after(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });
    const reopen = async () => {
      const other = await fixture.reopen();
      opened.push(other);
      return other;
    };

    describe('services', () => {
      test('stores a service and reads it back exactly', async () => {
        await store.addService(weather);
        await store.addService(orion);
        assert.deepEqual(await store.getService('/weather'), weather);
        assert.deepEqual(await store.listServices(), [orion, weather]);
        assert.equal(await store.getService('/missing'), undefined);
      });

      test('refuses to re-add an existing service and leaves it unchanged', async () => {
        await store.addService(weather);
        await rejectsWith(store.addService({ ...weather, appId: 'other' }), 'SERVICE_EXISTS');
        assert.deepEqual(await store.getService('/weather'), weather);
      });

      test('updates a service in place with replace, keeping its buys and admins', async () => {
        await store.addService(weather);
        await store.addAdmin('bob');
        await store.bindAdmin('bob', '/weather');
        await store.addBuy(buy('k1'));
        await store.addUsage([{ apiKey: 'k1', amount: 2 }]);
        const updated = { ...weather, url: 'http://new:80', methods: ['GET'] };
        await store.addService(updated, { replace: true });
        assert.deepEqual(await store.getService('/weather'), updated);
        assert.deepEqual(await store.getAdmins('/weather'), ['bob']);
        assert.equal((await store.getUsage('k1'))?.pending, 2);
      });

      test('deletes a service and its admin bindings but not the admins', async () => {
        await store.addService(weather);
        await store.addAdmin('bob');
        await store.bindAdmin('bob', '/weather');
        await store.deleteService('/weather');
        assert.equal(await store.getService('/weather'), undefined);
        assert.deepEqual(await store.listAdmins(), ['bob']);
        await store.addService(weather);
        assert.deepEqual(await store.getAdmins('/weather'), []);
      });

      test('refuses to delete a service that still has buys, keeping buys and usage', async () => {
        await store.addService(weather);
        await store.addBuy(buy('k1'));
        await store.addUsage([{ apiKey: 'k1', amount: 3 }]);
        await rejectsWith(store.deleteService('/weather'), 'SERVICE_HAS_BUYS');
        assert.deepEqual(await store.getService('/weather'), weather);
        assert.equal((await store.getUsage('k1'))?.pending, 3);
      });

      test('refuses to delete an unknown service', async () => {
        await rejectsWith(store.deleteService('/missing'), 'SERVICE_NOT_FOUND');
      });
    });

    describe('administrators', () => {
      test('adds, lists and deletes admins', async () => {
        await store.addAdmin('carol');
        await store.addAdmin('bob');
        assert.deepEqual(await store.listAdmins(), ['bob', 'carol']);
        await store.deleteAdmin('bob');
        assert.deepEqual(await store.listAdmins(), ['carol']);
      });

      test('refuses to re-add an admin and keeps its bindings', async () => {
        await store.addService(weather);
        await store.addAdmin('bob');
        await store.bindAdmin('bob', '/weather');
        await rejectsWith(store.addAdmin('bob'), 'ADMIN_EXISTS');
        assert.deepEqual(await store.getAdmins('/weather'), ['bob']);
      });

      test('deleting an admin unbinds it from every service', async () => {
        await store.addService(weather);
        await store.addService(orion);
        await store.addAdmin('bob');
        await store.addAdmin('carol');
        await store.bindAdmin('bob', '/weather');
        await store.bindAdmin('bob', '/orion');
        await store.bindAdmin('carol', '/weather');
        await store.deleteAdmin('bob');
        assert.deepEqual(await store.getAdmins('/weather'), ['carol']);
        assert.deepEqual(await store.getAdmins('/orion'), []);
        assert.deepEqual((await store.loadRoutingState()).bindings, [
          { adminId: 'carol', publicPath: '/weather' },
        ]);
      });

      test('refuses to delete an unknown admin', async () => {
        await rejectsWith(store.deleteAdmin('nobody'), 'ADMIN_NOT_FOUND');
      });

      test('binds only known admins to known services, once', async () => {
        await store.addService(weather);
        await store.addAdmin('bob');
        await rejectsWith(store.bindAdmin('nobody', '/weather'), 'ADMIN_NOT_FOUND');
        await rejectsWith(store.bindAdmin('bob', '/missing'), 'SERVICE_NOT_FOUND');
        await store.bindAdmin('bob', '/weather');
        await store.bindAdmin('bob', '/weather');
        assert.deepEqual(await store.getAdmins('/weather'), ['bob']);
      });

      test('unbinds a bound admin and refuses an unbound one', async () => {
        await store.addService(weather);
        await store.addAdmin('bob');
        await store.bindAdmin('bob', '/weather');
        await store.unbindAdmin('bob', '/weather');
        assert.deepEqual(await store.getAdmins('/weather'), []);
        await rejectsWith(store.unbindAdmin('bob', '/weather'), 'ADMIN_NOT_BOUND');
        assert.deepEqual(await store.listAdmins(), ['bob']);
      });
    });

    describe('buys and usage', () => {
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
          (await store.listBuys({ publicPath: '/weather', customer: 'alice' })).map(
            (b) => b.apiKey,
          ),
          ['k2'],
        );
        assert.deepEqual(await store.getUsage('k2'), {
          apiKey: 'k2',
          pending: 0,
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
        const worker = fileURLToPath(new URL('./increment-worker.ts', import.meta.url));
        const runWorker = () =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', worker], {
              env: { ...process.env, STORE_DATABASE: JSON.stringify(fixture.database) },
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

    describe('usage records', () => {
      const t0 = new Date('2026-11-24T10:00:00.000Z');

      test('a record takes all pending usage out in one step and is kept until completed', async () => {
        await store.addService(weather);
        await store.addBuy(buy('k1'));
        assert.equal(await store.prepareRecord('k1', t0), undefined);
        await store.addUsage([{ apiKey: 'k1', amount: 2.5 }]);
        const record = await store.prepareRecord('k1', t0);
        assert.deepEqual(record?.outbox, {
          correlationNumber: 0,
          value: 2.5,
          date: t0.toISOString(),
        });
        assert.equal(record?.orderId, 'order-k1');
        assert.equal(record?.pending, 0);
        // usage that arrives meanwhile waits for the next record; the outbox record stays identical
        await store.addUsage([{ apiKey: 'k1', amount: 1 }]);
        const later = new Date(t0.getTime() + 60_000);
        assert.deepEqual((await store.prepareRecord('k1', later))?.outbox, record?.outbox);
        await store.completeRecord('k1', 7);
        assert.deepEqual((await store.prepareRecord('k1', later))?.outbox, record?.outbox);
        await store.completeRecord('k1', 0);
        assert.deepEqual(await store.getUsage('k1'), {
          apiKey: 'k1',
          pending: 1,
          correlationNumber: 1,
        });
        // a clock that went back does not date a record before the previous one
        const next = await store.prepareRecord('k1', new Date(t0.getTime() - 3_600_000));
        assert.deepEqual(next?.outbox, { correlationNumber: 1, value: 1, date: t0.toISOString() });
        await store.completeRecord('k1', 1);
        assert.equal(await store.prepareRecord('k1', later), undefined);
        assert.deepEqual(await store.getUsage('k1'), {
          apiKey: 'k1',
          pending: 0,
          correlationNumber: 2,
        });
      });

      test('keeps why an outbox record is not accepted yet, until it is completed', async () => {
        await store.addService(weather);
        await store.addBuy(buy('k1'));
        await store.addUsage([{ apiKey: 'k1', amount: 2 }]);
        const status = {
          state: 'rejected' as const,
          message: 'The specified unit is not included in the pricing model',
          since: t0.toISOString(),
          lastAttempt: t0.toISOString(),
        };
        // no record in the outbox yet: nothing to describe
        await store.setReportStatus('k1', 0, status);
        assert.equal((await store.listUsage())[0]?.reportStatus, undefined);
        await store.prepareRecord('k1', t0);
        await store.setReportStatus('k1', 1, status);
        assert.equal((await store.listUsage())[0]?.reportStatus, undefined, 'another number');
        await store.setReportStatus('k1', 0, status);
        const other = await reopen();
        assert.deepEqual((await other.listUsage())[0]?.reportStatus, status);
        const outOfStep = { ...status, state: 'out-of-step' as const, expected: 4 };
        await store.setReportStatus('k1', 0, outOfStep);
        assert.deepEqual((await store.prepareRecord('k1', t0))?.reportStatus, outOfStep);
        await store.setReportStatus('k1', 0, undefined);
        assert.equal((await store.listUsage())[0]?.reportStatus, undefined);
        await store.setReportStatus('k1', 0, status);
        await store.completeRecord('k1', 0);
        assert.equal((await store.listUsage())[0]?.reportStatus, undefined);
      });

      test('adds tiny and odd amounts to the last bit of a double', async () => {
        await store.addService(weather);
        await store.addBuy(buy('k1'));
        const amounts = [227 / 1048576, 1e-20, 0.1, 0.2, 1 / 3, 4e-18, 123456789.12345679, 5e-324];
        let expected = 0;
        for (const amount of amounts) {
          await store.addUsage([{ apiKey: 'k1', amount }]);
          expected += amount;
        }
        const other = await reopen();
        assert.equal((await other.getUsage('k1'))?.pending, expected);
        const record = await store.prepareRecord('k1', t0);
        assert.equal(record?.outbox.value, expected);
        assert.equal((await other.listUsage())[0]?.outbox?.value, expected);
        await store.completeRecord('k1', 0);
        await store.addUsage([{ apiKey: 'k1', amount: 227 / 1048576 }]);
        assert.equal((await store.getUsage('k1'))?.pending, 0.00021648406982421875);
        await store.addUsage([{ apiKey: 'k1', amount: 1e-20 }]);
        assert.equal((await store.getUsage('k1'))?.pending, 227 / 1048576 + 1e-20);
      });

      test('lists every buy with its usage and outbox, revoked ones too', async () => {
        await store.addService(weather);
        await store.addBuy(buy('k1'));
        await store.addBuy(buy('k2'));
        await store.addUsage([
          { apiKey: 'k1', amount: 3 },
          { apiKey: 'k2', amount: 4 },
        ]);
        await store.prepareRecord('k2', t0);
        await store.revokeBuy('k2');
        const usage = await store.listUsage();
        assert.deepEqual(
          usage.map((u) => [u.apiKey, u.pending, u.correlationNumber, u.outbox?.value, u.revoked]),
          [
            ['k1', 3, 0, undefined, false],
            ['k2', 0, 0, 4, true],
          ],
        );
      });

      test('a revoked buy goes once its last record is completed', async () => {
        await store.addService(weather);
        await store.addBuy(buy('k1'));
        await store.addUsage([{ apiKey: 'k1', amount: 3 }]);
        await store.revokeBuy('k1');
        const record = await store.prepareRecord('k1', t0);
        assert.equal(record?.revoked, true);
        await store.completeRecord('k1', 0);
        assert.equal(await store.getUsage('k1'), undefined);
        assert.deepEqual(await store.listUsage(), []);
        await store.deleteService('/weather');
      });

      test('a lock has one owner at a time until released or expired', async () => {
        assert.equal(await store.acquireLock('report', 'a', 60_000), true);
        assert.equal(await store.acquireLock('report', 'b', 60_000), false);
        assert.equal(await store.acquireLock('report', 'a', 60_000), true);
        await store.releaseLock('report', 'b');
        assert.equal(await store.acquireLock('report', 'b', 60_000), false);
        await store.releaseLock('report', 'a');
        // Held for long enough that opening the second connection cannot outlast it.
        assert.equal(await store.acquireLock('report', 'b', 60_000), true);
        const other = await reopen();
        assert.equal(await other.acquireLock('report', 'c', 60_000), false);
        await store.releaseLock('report', 'b');
        assert.equal(await store.acquireLock('report', 'b', 30), true);
        const deadline = Date.now() + 5000;
        while (!(await other.acquireLock('report', 'c', 60_000))) {
          assert.ok(Date.now() < deadline, 'the expired lock is taken over');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      });
    });

    describe('reporting data', () => {
      test('keeps one specification href per unit', async () => {
        assert.equal(await store.getSpecificationHref('call'), undefined);
        await store.setSpecificationHref('call', 'http://usage/spec/1');
        await store.setSpecificationHref('call', 'http://usage/spec/2');
        await store.setSpecificationHref('megabyte', 'http://usage/spec/3');
        assert.equal(await store.getSpecificationHref('call'), 'http://usage/spec/2');
        assert.equal(await store.getSpecificationHref('megabyte'), 'http://usage/spec/3');
      });

      test('keeps the newest marketplace keys with when they came and whether they worked', async () => {
        assert.deepEqual(await store.listMarketplaceKeys(), []);
        const t0 = new Date('2026-11-24T10:00:00.000Z');
        const at = (minute: number) => new Date(t0.getTime() + minute * 60_000);
        for (let i = 1; i <= 12; i++) await store.addMarketplaceKey(`key-${i}`, at(i));
        const kept = await store.listMarketplaceKeys();
        assert.deepEqual(
          kept.map((k) => k.key),
          [12, 11, 10, 9, 8, 7, 6, 5, 4, 3].map((i) => `key-${i}`),
          'the newest ten, newest first',
        );
        assert.deepEqual(kept[0], {
          key: 'key-12',
          receivedAt: at(12).toISOString(),
          state: 'untried',
        });
        await store.setMarketplaceKeyState('key-11', 'accepted', at(13));
        await store.setMarketplaceKeyState('key-12', 'refused', at(14));
        await store.setMarketplaceKeyState('key-1', 'accepted', at(14));
        const other = await reopen();
        assert.deepEqual((await other.listMarketplaceKeys()).slice(0, 2), [
          {
            key: 'key-12',
            receivedAt: at(12).toISOString(),
            state: 'refused',
            checkedAt: at(14).toISOString(),
          },
          {
            key: 'key-11',
            receivedAt: at(11).toISOString(),
            state: 'accepted',
            checkedAt: at(13).toISOString(),
          },
        ]);
        // the same key sent again becomes the newest and keeps what is known of it
        await store.addMarketplaceKey('key-11', at(20));
        assert.deepEqual((await store.listMarketplaceKeys())[0], {
          key: 'key-11',
          receivedAt: at(20).toISOString(),
          state: 'accepted',
          checkedAt: at(13).toISOString(),
        });
        assert.equal((await store.listMarketplaceKeys()).length, 10);
      });
    });

    describe('Orion subscriptions', () => {
      test('stores, updates, lists and deletes subscriptions of a buy', async () => {
        await store.addService(orion);
        await store.addBuy(buy('k1', { publicPath: '/orion' }));
        const s1 = subscription('s1', 'k1');
        const s2 = subscription('s2', 'k1', {
          version: 'v1',
          fiwareService: '',
          fiwareServicePath: '',
        });
        await store.addSubscription(s1);
        await store.addSubscription(s2);
        assert.deepEqual(await store.getSubscription('s1'), s1);
        await store.updateSubscriptionUrl('s1', 'http://b/2');
        assert.equal((await store.getSubscription('s1'))?.notificationUrl, 'http://b/2');
        assert.deepEqual(
          (await store.listSubscriptions('k1')).map((s) => s.subscriptionId),
          ['s1', 's2'],
        );
        await store.deleteSubscription('s1');
        assert.equal(await store.getSubscription('s1'), undefined);
        assert.deepEqual(await store.listSubscriptions('k1'), [s2]);
      });

      test('refuses subscriptions of unknown buys and updates of unknown subscriptions', async () => {
        await rejectsWith(store.addSubscription(subscription('s1', 'nope')), 'BUY_NOT_FOUND');
        await rejectsWith(store.updateSubscriptionUrl('s9', 'http://a'), 'SUBSCRIPTION_NOT_FOUND');
      });
    });

    describe('routing state', () => {
      test('loads services, bindings and buys in one read', async () => {
        await store.addService(weather);
        await store.addService(orion);
        await store.addAdmin('bob');
        await store.bindAdmin('bob', '/orion');
        await store.addBuy(buy('k1'));
        assert.deepEqual(await store.loadRoutingState(), {
          services: [orion, weather],
          bindings: [{ adminId: 'bob', publicPath: '/orion' }],
          buys: [buy('k1')],
        });
      });

      test('its version grows with routing changes seen from another connection, not with usage', async () => {
        const other = await reopen();
        const before = await other.routingVersion();
        await store.addService(weather);
        const afterService = await other.routingVersion();
        assert.ok(afterService > before);
        await store.addBuy(buy('k1'));
        const afterBuy = await other.routingVersion();
        assert.ok(afterBuy > afterService);
        await store.addUsage([{ apiKey: 'k1', amount: 1 }]);
        assert.equal(await other.routingVersion(), afterBuy);
        assert.deepEqual((await other.loadRoutingState()).buys, [buy('k1')]);
      });

      test('a failed change leaves the version alone', async () => {
        const before = await store.routingVersion();
        await rejectsWith(store.deleteService('/missing'), 'SERVICE_NOT_FOUND');
        assert.equal(await store.routingVersion(), before);
      });
    });

    test('keeps its data after close and reopen', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addUsage([{ apiKey: 'k1', amount: 4 }]);
      await store.close();
      opened.splice(opened.indexOf(store), 1);
      const reopened = await reopen();
      assert.deepEqual(await reopened.getService('/weather'), weather);
      assert.equal((await reopened.getUsage('k1'))?.pending, 4);
    });
  });
}
