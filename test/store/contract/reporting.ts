/** The outbox of usage records, specifications and marketplace keys. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buy, type ContractContext, weather } from './fixtures.ts';

export function reportingContract({ store, reopen }: ContractContext): void {
  describe('usage records', () => {
    const t0 = new Date('2026-11-24T10:00:00.000Z');

    test('a marketplace buy keeps usage per window; each closed window is one record, dated at its last usage', async () => {
      const HOUR = 3_600_000;
      const terms = { customerKeys: ['acme'], customerType: 'Organization', unitName: 'api call' };
      await store.addService(weather);
      await store.addBuy(buy('k1', { terms }));
      await store.addBuy(buy('k2'));
      const batch = (seq: number, start: number, at: number) => ({
        writer: 'w',
        seq,
        window: { start, at, length: HOUR },
      });
      await store.addUsage(
        [
          { apiKey: 'k1', amount: 2 },
          { apiKey: 'k2', amount: 5 },
        ],
        batch(1, 0, 1000),
      );
      await store.addUsage([{ apiKey: 'k1', amount: 3 }], batch(2, 0, 1500));
      await store.addUsage([{ apiKey: 'k1', amount: 0.1 }], batch(3, HOUR, HOUR + 500));
      // A batch seen again (a retried commit) counts once, in its window too.
      await store.addUsage([{ apiKey: 'k1', amount: 0.1 }], batch(3, HOUR, HOUR + 500));
      assert.equal(await store.prepareWindowRecord('k2', Number.POSITIVE_INFINITY), undefined);
      assert.equal(await store.prepareWindowRecord('k1', 0), undefined);
      assert.equal(await store.prepareRecord('k1', t0), undefined, 'not a record of the admin API');
      const first = { apiKey: 'k1', window: 0, value: 5, date: new Date(1500).toISOString() };
      assert.deepEqual(await store.prepareWindowRecord('k1', HOUR), {
        ...first,
        correlationNumber: 0,
      });
      assert.deepEqual(await store.prepareWindowRecord('k1', HOUR), {
        ...first,
        correlationNumber: 0,
      });
      const other = await reopen();
      try {
        assert.deepEqual(await other.prepareWindowRecord('k1', 2 * HOUR), {
          ...first,
          correlationNumber: 0,
        });
      } finally {
        await other.close();
      }
      assert.ok(Math.abs(((await store.getUsage('k1'))?.pending ?? 0) - 0.1) < 1e-9);
      await store.completeRecord('k1', 0);
      assert.deepEqual(await store.prepareWindowRecord('k1', Number.POSITIVE_INFINITY), {
        apiKey: 'k1',
        window: HOUR,
        value: 0.1,
        date: new Date(HOUR + 500).toISOString(),
        correlationNumber: 1,
      });
      // The last window takes what is left exactly.
      assert.equal((await store.getUsage('k1'))?.pending, 0);
      await store.completeRecord('k1', 1);
      assert.equal(await store.prepareWindowRecord('k1', Number.POSITIVE_INFINITY), undefined);
      // A commit of the first window retried after it was reported: it goes to the window after
      // the last one reported, dated within it, never lost in a record already sent.
      await store.addUsage([{ apiKey: 'k1', amount: 7 }], batch(4, 0, 1700));
      assert.deepEqual(await store.prepareWindowRecord('k1', Number.POSITIVE_INFINITY), {
        apiKey: 'k1',
        window: 2 * HOUR,
        value: 7,
        date: new Date(2 * HOUR).toISOString(),
        correlationNumber: 2,
      });
      await store.completeRecord('k1', 2);
      // A buy of the admin API is reported as before.
      assert.equal((await store.prepareRecord('k2', t0))?.outbox.value, 5);
    });

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
        reported: 2.5,
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
        reported: 3.5,
        correlationNumber: 2,
      });
      assert.equal((await store.listUsage()).find((b) => b.apiKey === 'k1')?.reported, 3.5);
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
  });

  describe('reporting data', () => {
    test('counts the exchanges whose module failed to count, per buy and reason', async () => {
      await store.addService(weather);
      await store.addBuy(buy('k1'));
      await store.addBuy(buy('k2'));
      await Promise.all([
        store.recordMeterFault('k1', 'timeout'),
        store.recordMeterFault('k1', 'timeout'),
        store.recordMeterFault('k1', 'threw'),
        store.recordMeterFault('unknown', 'threw'),
      ]);
      await store.addUsage([{ apiKey: 'k1', amount: 2 }]);
      const usage = await store.listUsage();
      assert.deepEqual(usage.find((b) => b.apiKey === 'k1')?.meterFaults, { timeout: 2, threw: 1 });
      assert.equal('meterFaults' in (usage.find((b) => b.apiKey === 'k2') ?? {}), false);
      // Kept with the buy's other data, through its records.
      await store.prepareRecord('k1', new Date('2026-12-06T10:00:00Z'));
      const other = await reopen();
      const k1 = (await other.listUsage()).find((b) => b.apiKey === 'k1');
      assert.deepEqual(k1?.meterFaults, { timeout: 2, threw: 1 });
      assert.equal(k1?.outbox?.value, 2);
    });

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
}
