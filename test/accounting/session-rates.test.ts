/**
 * A unit declares how it meters an adapter session, and both stores apply it as declared: a new
 * unit needs no change in src/store/ (TypeScript or Lua).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadAccountingModules } from '../../src/accounting/load-modules.ts';
import { adapterUnits, sessionRatesOf } from '../../src/accounting/session-rates.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { vpn } from '../store/contract/adapter.ts';
import { SESSION_RATES } from '../support/session-rates.ts';
import { storeBackends } from '../support/store-backends.ts';

test('the shipped units declare their session metering; a unit without one sells none', async () => {
  const modules = await loadAccountingModules(['call', 'megabyte', 'millisecond']);
  assert.deepEqual(sessionRatesOf(modules), {
    call: { perStart: 1, perByte: 0, perMs: 0 },
    megabyte: { perStart: 0, perByte: 1 / 1048576, perMs: 0 },
    millisecond: { perStart: 0, perByte: 0, perMs: 1 },
  });
  assert.deepEqual(SESSION_RATES, sessionRatesOf(modules));
  const withHttpOnly = new Map(modules);
  withHttpOnly.set('token', { ...modules.get('call'), unit: 'token', session: undefined } as never);
  assert.deepEqual(adapterUnits(withHttpOnly), ['call', 'megabyte', 'millisecond']);
});

const backends = storeBackends();
for (const backend of backends) {
  describe(`a unit of its own, on ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      // Gigabytes plus a thousandth per second open, and 2 per session started.
      store = await openStore(backend.database(), {
        sessionRates: { 'gb-time': { perStart: 2, perByte: 2 ** -30, perMs: 1e-6 } },
      });
      await store.addService(vpn);
      await store.addBuy({
        ...{ apiKey: 'k1', publicPath: '/vpn', orderId: 'o1', productId: 'p1', customer: 'c' },
        ...{ unit: 'gb-time', recordType: 'data' },
        access: { clientKey: 'client-1', clientPassword: 'secret-1' },
      });
    });
    after(() => store.close());

    test('is metered by its declared rates', async () => {
      const at = (units: number, ms: number) =>
        store.recordSession('client-1', { kind: 'update', units }, ms);
      assert.equal((await store.recordSession('client-1', { kind: 'start' }, 0)).amount, 2);
      assert.equal((await at(2 ** 30, 1_000_000)).amount, 1 + 1);
      assert.equal((await store.recordSession('client-1', { kind: 'stop' }, 3_000_000)).amount, 2);
      assert.equal((await store.getUsage('k1'))?.pending, 6);
    });
  });
}
