/** Services, administrators, bindings and the routing state. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buy, type ContractContext, orion, rejectsWith, weather } from './fixtures.ts';

export function routingContract({ store, reopen }: ContractContext): void {
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

    test('keeps the offering and product specification ids of a service, replaced as a whole', async () => {
      const catalog = { offerings: ['urn:ngsi-ld:product-offering:a', 'o-2'], productSpecs: [] };
      await store.addService({ ...weather, catalog });
      await store.addService(orion);
      assert.deepEqual(await store.getService('/weather'), { ...weather, catalog });
      // A forced update that names no catalog keeps the service's.
      await store.addService({ ...weather, url: 'http://new:80' }, { replace: true });
      assert.deepEqual((await store.getService('/weather'))?.catalog, catalog);
      const next = { offerings: ['o-3'], productSpecs: ['urn:ngsi-ld:product-specification:s'] };
      await store.setServiceCatalog('/weather', next);
      assert.deepEqual((await store.loadRoutingState()).services[1]?.catalog, next);
      await store.setServiceCatalog('/weather', { offerings: [], productSpecs: [] });
      assert.deepEqual(await store.listServices(), [orion, { ...weather, url: 'http://new:80' }]);
      await rejectsWith(
        store.setServiceCatalog('/missing', { offerings: ['o'], productSpecs: [] }),
        'SERVICE_NOT_FOUND',
      );
    });

    test('an offering or spec id belongs to one service: another is refused until the first lets go', async () => {
      await store.addService({
        ...weather,
        catalog: { offerings: ['o-1'], productSpecs: ['s-1'] },
      });
      await rejectsWith(
        store.addService({ ...orion, catalog: { offerings: ['o-1'], productSpecs: [] } }),
        'CATALOG_ID_TAKEN',
      );
      assert.equal(await store.getService('/orion'), undefined);
      await store.addService(orion);
      await rejectsWith(
        store.setServiceCatalog('/orion', { offerings: ['o-9'], productSpecs: ['s-1'] }),
        'CATALOG_ID_TAKEN',
      );
      assert.equal((await store.getService('/orion'))?.catalog, undefined);
      // The same id as an offering and as a spec are different ids.
      await store.setServiceCatalog('/orion', { offerings: ['s-1'], productSpecs: [] });
      await store.setServiceCatalog('/weather', { offerings: [], productSpecs: ['s-1'] });
      await store.deleteService('/weather');
      await store.setServiceCatalog('/orion', { offerings: ['o-1'], productSpecs: ['s-1'] });
      assert.deepEqual((await store.getService('/orion'))?.catalog, {
        offerings: ['o-1'],
        productSpecs: ['s-1'],
      });
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
        limits: [],
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
}
