import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { startRoutingSync } from '../../src/proxy/routing-sync.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { eventually } from '../support/client.ts';
import { storeBackends } from '../support/store-backends.ts';

for (const backend of storeBackends()) {
  describe(`routing recheck on ${backend.name}`, () => {
    const stores: Store[] = [];
    after(async () => {
      await Promise.all(stores.map((store) => store.close()));
    });

    test("another process's change is loaded without waiting for the poll", async () => {
      const database = backend.database();
      const proxyStore = await openStore(database);
      const writer = await openStore(database);
      stores.push(proxyStore, writer);
      const routing = await startRoutingSync(proxyStore, createLogger('silent'), {
        clock: systemClock,
        intervalMs: 3_600_000,
      });
      try {
        await writer.addService({
          publicPath: '/svc',
          url: 'http://backend/',
          appId: 'app',
          methods: ['GET'],
          isContextBroker: false,
        });
        await eventually(() => routing.table.route('/svc/x') !== undefined, 1000);
      } finally {
        await routing.stop();
      }
    });

    test('a recheck reads the store after the call, and a flood of them shares few reads', async () => {
      const database = backend.database();
      const proxyStore = await openStore(database);
      const writer = await openStore(database);
      stores.push(proxyStore, writer);
      let reads = 0;
      const counted: Store = {
        ...proxyStore,
        routingVersion: () => {
          reads++;
          return proxyStore.routingVersion();
        },
        // Only rechecks look at the store here: no notifications.
        watchChanges: async () => async () => {},
      };
      // A poll interval far beyond the test: only rechecks read the store.
      const routing = await startRoutingSync(counted, createLogger('silent'), {
        clock: systemClock,
        intervalMs: 3_600_000,
      });
      try {
        const first = routing.table;
        await routing.recheck();
        assert.equal(routing.table, first, 'nothing changed');
        await writer.addAdmin('root');
        await routing.recheck();
        assert.notEqual(routing.table, first, 'the change made before the call is seen');
        const second = routing.table;
        reads = 0;
        await Promise.all(Array.from({ length: 500 }, () => routing.recheck()));
        assert.equal(routing.table, second);
        assert.ok(reads <= 2, `${reads} reads for 500 rechecks`);
      } finally {
        await routing.stop();
      }
    });
  });
}
