/**
 * The behaviour every Store must have, one suite per concern of store.ts. sqlite.test.ts and
 * redis.test.ts run it against a real SQLite file and a real redis-server.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, test } from 'node:test';
import type { Store } from '../../../src/store/store.ts';
import { adapterContract } from './adapter.ts';
import { buysContract } from './buys.ts';
import { buy, type StoreFixture, type StoreHarness, weather } from './fixtures.ts';
import { limitsContract } from './limits.ts';
import { locksContract } from './locks.ts';
import { reportingContract } from './reporting.ts';
import { routingContract } from './routing.ts';
import { subscriptionsContract } from './subscriptions.ts';

export type { StoreFixture, StoreHarness } from './fixtures.ts';

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
    const context = {
      // The store changes with every test; the suites hold this one object.
      store: new Proxy({} as Store, { get: (_, name) => store[name as keyof Store] }),
      reopen,
      database: () => fixture.database,
    };
    routingContract(context);
    buysContract(context);
    reportingContract(context);
    locksContract(context);
    subscriptionsContract(context);
    adapterContract(context);
    limitsContract(context);

    test('probe answers while the store can be written and rejects once it is closed', async () => {
      await store.probe();
      const other = await reopen();
      await other.probe();
      await other.close();
      opened.splice(opened.indexOf(other), 1);
      await assert.rejects(other.probe());
      await store.probe();
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
