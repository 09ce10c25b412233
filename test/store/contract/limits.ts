/** Limits: kept with the routing state, counted per buy in one atomic step, shared by connections. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdmissionRequest } from '../../../src/store/limits.ts';
import { buy, type ContractContext, rejectsWith, weather } from './fixtures.ts';

const rate = (window: number, limit: number) => ({ window, limit });
const quota = (period: string, amount: number, reserve: number) => ({ period, amount, reserve });

export function limitsContract({ store, reopen }: ContractContext): void {
  describe('limits', () => {
    test('are set on a service and on a buy, listed with the routing state, and cleared', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addBuy(buy('k2'));
      const before = await store.routingVersion();
      await store.setLimits('/weather', { rate: { limit: 5, per: 'second' } });
      await store.setLimits(
        '/weather',
        { quota: { amount: 100, period: 'month' } },
        { orderId: 'order-k2', productId: 'product-k2' },
      );
      assert.ok((await store.routingVersion()) > before);
      const expected = [
        { publicPath: '/weather', limits: { rate: { limit: 5, per: 'second' } } },
        {
          publicPath: '/weather',
          apiKey: 'k2',
          limits: { quota: { amount: 100, period: 'month' } },
        },
      ];
      assert.deepEqual(await store.listLimits(), expected);
      assert.deepEqual((await store.loadRoutingState()).limits, expected);
      await store.setLimits('/weather', undefined);
      await store.setLimits('/weather', {}, { orderId: 'order-k2', productId: 'product-k2' });
      assert.deepEqual(await store.listLimits(), []);
    });

    test('refuse an unknown service or buy', async () => {
      await rejectsWith(store.setLimits('/nope', {}), 'SERVICE_NOT_FOUND');
      await store.addService(weather);
      await rejectsWith(
        store.setLimits('/weather', {}, { orderId: 'o', productId: 'p' }),
        'LIMITS_BUY_NOT_FOUND',
      );
    });

    test("a revoked buy's limits leave the routing state", async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      const limits = { rate: { limit: 1, per: 'hour' as const } };
      await store.setLimits('/weather', limits, { orderId: 'order-k1', productId: 'product-k1' });
      assert.equal((await store.listLimits()).length, 1);
      await store.revokeBuy('k1');
      assert.deepEqual(await store.listLimits(), []);
    });

    test('a rate window admits its limit, then refuses; the next window starts again', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      const ask = (window: number) => store.admit({ apiKey: 'k1', rate: rate(window, 2) });
      assert.deepEqual(await ask(7), { admitted: true, rateCount: 1 });
      assert.deepEqual(await ask(7), { admitted: true, rateCount: 2 });
      assert.deepEqual(await ask(7), { admitted: false, refusedBy: 'rate', rateCount: 2 });
      assert.deepEqual(await ask(8), { admitted: true, rateCount: 1 });
    });

    test('a reserving quota admits exactly its amount, and a release gives one back', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      const ask = () => store.admit({ apiKey: 'k1', quota: quota('2026-12', 3, 1) });
      for (const spent of [1, 2, 3]) {
        assert.deepEqual(await ask(), { admitted: true, quotaSpent: spent });
      }
      assert.deepEqual(await ask(), { admitted: false, refusedBy: 'quota', quotaSpent: 3 });
      await store.releaseReservation('k1', '2026-12', 1);
      await store.releaseReservation('k1', '2026-11', 1); // a past period: nothing
      assert.deepEqual(await ask(), { admitted: true, quotaSpent: 3 });
      // The next period starts from zero.
      const next = await store.admit({ apiKey: 'k1', quota: quota('2027-01', 3, 1) });
      assert.deepEqual(next, { admitted: true, quotaSpent: 1 });
    });

    test('metered amounts spend a quota in the usage batch; once spent, requests are refused', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1', { unit: 'megabyte' }));
      const ask = () => store.admit({ apiKey: 'k1', quota: quota('2026-12-06', 2, 0) });
      assert.deepEqual(await ask(), { admitted: true, quotaSpent: 0 });
      await store.addUsage([{ apiKey: 'k1', amount: 1.5, quotaPeriod: '2026-12-06' }]);
      assert.deepEqual(await ask(), { admitted: true, quotaSpent: 1.5 });
      await store.addUsage([{ apiKey: 'k1', amount: 0.75, quotaPeriod: '2026-12-06' }]);
      assert.deepEqual(await ask(), { admitted: false, refusedBy: 'quota', quotaSpent: 2.25 });
      // Usage of a period already over when it was committed is not spent in the new one.
      await store.addUsage([{ apiKey: 'k1', amount: 5, quotaPeriod: '2026-12-07' }]);
      await store.addUsage([{ apiKey: 'k1', amount: 1, quotaPeriod: '2026-12-06' }]);
      const nextDay = await store.admit({ apiKey: 'k1', quota: quota('2026-12-07', 10, 0) });
      assert.deepEqual(nextDay, { admitted: true, quotaSpent: 5 });
      assert.equal((await store.getUsage('k1'))?.pending, 8.25, 'usage itself is all kept');
    });

    test('rate and quota together: the rate refuses first, and a refusal counts nothing', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      const request: AdmissionRequest = {
        apiKey: 'k1',
        rate: rate(1, 1),
        quota: quota('total', 10, 1),
      };
      assert.deepEqual(await store.admit(request), {
        admitted: true,
        rateCount: 1,
        quotaSpent: 1,
      });
      assert.deepEqual(await store.admit(request), {
        admitted: false,
        refusedBy: 'rate',
        rateCount: 1,
        quotaSpent: 1,
      });
    });

    test('connections sharing the store together admit no more than the quota', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      const others = [store, await reopen(), await reopen()];
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (others[i % 3] ?? store).admit({ apiKey: 'k1', quota: quota('total', 25, 1) }),
        ),
      );
      assert.equal(answers.filter((a) => a.admitted).length, 25);
    });

    test('an unknown buy is never admitted and leaves no counters', async () => {
      const answer = await store.admit({ apiKey: 'nope', rate: rate(1, 5) });
      assert.equal(answer.admitted, false);
      assert.equal(answer.refusedBy, undefined);
      assert.deepEqual(await store.listLimitCounters(), []);
    });

    test("lists each buy's counters, and a removed buy's go with it", async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addBuy(buy('k2', { unit: 'megabyte' }));
      await store.admit({ apiKey: 'k1', rate: rate(9, 5), quota: quota('total', 10, 1) });
      await store.addUsage([{ apiKey: 'k2', amount: 0.5, quotaPeriod: '2026-12' }]);
      assert.deepEqual(await store.listLimitCounters(), [
        { apiKey: 'k1', rateWindow: 9, rateCount: 1, quotaPeriod: 'total', quotaSpent: 1 },
        { apiKey: 'k2', rateCount: 0, quotaPeriod: '2026-12', quotaSpent: 0.5 },
      ]);
      await store.revokeBuy('k1');
      assert.deepEqual(
        (await store.listLimitCounters()).map((c) => c.apiKey),
        ['k2'],
      );
    });
  });
}
