import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { API_KEYS, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

const specifications = JSON.parse(
  readFileSync(new URL('../accounting/reference-specifications.json', import.meta.url), 'utf8'),
) as Record<string, string>;

const reportingEnv = (usage: FakeUsageApi) => ({
  ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
  // Far away: the tests run cycles themselves, or through the retry backoff.
  ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
  ACCOUNTING_PROXY_USAGE_RETRY: '50',
  ACCOUNTING_PROXY_USAGE_RETRY_MAX: '200',
  ACCOUNTING_PROXY_USAGE_TIMEOUT: '500',
});

for (const backend of storeBackends()) {
  describe(`usage reporting on ${backend.name}`, () => {
    let usage: FakeUsageApi;
    let f: ProxyFixture;
    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
      f = await startProxyFixture(backend.database(), reportingEnv(usage));
      for (const unit of ['call', 'megabyte', 'millisecond']) {
        usage.contract(`o-${unit}`, `p-${unit}`, 'alice', [unit]);
      }
    });
    after(async () => {
      await f.close();
      await usage.stop();
    });
    beforeEach(() => {
      usage.failures = { count: 0, status: 500 };
      usage.hangAfterStoring = 0;
      usage.beforeAnswer = undefined;
    });

    const call = (unit: 'call' | 'megabyte' | 'millisecond', path = '/svc/echo') =>
      request(`${f.url}${path}`, { headers: f.buyer(unit) });
    const pending = async (apiKey: string) => (await f.store.getUsage(apiKey))?.pending ?? 0;
    /** Everything metered for a buy: what the usage API accepted plus what is still to send. */
    const metered = async (unit: 'call' | 'megabyte' | 'millisecond') => {
      const buy = (await f.store.listUsage()).find((b) => b.apiKey === API_KEYS[unit]);
      return (
        usage.accepted(`o-${unit}`, `p-${unit}`).sum +
        (buy?.pending ?? 0) +
        (buy?.outbox?.value ?? 0)
      );
    };
    const assertAllAccepted = () => assert.deepEqual(usage.rejected(), [], 'no record is rejected');

    test('without a marketplace token nothing is sent and usage is kept', async () => {
      await call('call');
      const result = await f.proxy.usage.runNow();
      assert.equal(result.skipped, 'no-key');
      assert.equal(usage.records.length, 0);
      assert.equal(await pending(API_KEYS.call), 1);
    });

    test('registers each unit once and sends exact records per unit', async () => {
      await f.store.addMarketplaceKey(usage.token, new Date());
      await call('call');
      await call('call');
      await call('megabyte', '/svc/bytes/3145728');
      await call('millisecond');
      const millisecond = await pending(API_KEYS.millisecond);
      const result = await f.proxy.usage.runNow();
      assert.deepEqual(result.failures, []);
      assert.deepEqual(
        usage.specifications
          .map(({ id: _id, href: _href, ...spec }) => JSON.stringify(spec))
          .sort(),
        Object.values(specifications).sort(),
      );
      assertAllAccepted();
      assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: 3, numbers: [0] });
      assert.deepEqual(usage.accepted('o-megabyte', 'p-megabyte'), { sum: 3, numbers: [0] });
      assert.deepEqual(usage.accepted('o-millisecond', 'p-millisecond'), {
        sum: millisecond,
        numbers: [0],
      });

      const record = usage.records.find((r) => r.raw.includes('"o-call"'))?.body;
      const callSpec = usage.specifications.find((s) => s.name === 'call');
      assert.deepEqual(record, {
        date: record?.date,
        type: 'callusage',
        status: 'Received',
        usageSpecification: { href: callSpec?.href, name: 'call' },
        usageCharacteristic: [
          { name: 'orderId', value: 'o-call' },
          { name: 'productId', value: 'p-call' },
          { name: 'correlationNumber', value: 0 },
          { name: 'unit', value: 'call' },
          { name: 'value', value: 3 },
        ],
        relatedParty: [
          {
            role: 'customer',
            id: 'alice',
            href: `${new URL(usage.url).origin}/partyManagement/individual/alice`,
          },
        ],
      });
      assert.match(String(record?.date), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      await call('call');
      await f.proxy.usage.runNow();
      assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: 4, numbers: [0, 1] });
      assert.equal(usage.specifications.length, 3, 'specifications are registered once');
      assert.equal(await pending(API_KEYS.call), 0);
    });

    test('keeps records through several failed cycles and sends them once the API is back', async () => {
      await f.store.addMarketplaceKey(usage.token, new Date());
      const before = await metered('call');
      await call('call');
      await call('call');
      usage.failures = { count: 4, status: 500 };
      void f.proxy.usage.runNow();
      await call('call');
      // the scheduler retries with backoff by itself
      await eventually(
        async () =>
          usage.failures.count === 0 &&
          (await pending(API_KEYS.call)) === 0 &&
          !(await f.store.listUsage()).some((b) => b.outbox),
      );
      assertAllAccepted();
      assert.equal(await metered('call'), before + 3);
    });

    test('keeps a record the usage API refused with a 4xx and sends it again once per scheduled cycle', async () => {
      await f.store.addMarketplaceKey(usage.token, new Date());
      const before = await metered('call');
      await call('call');
      usage.failures = { count: 2, status: 400 };
      const first = await f.proxy.usage.runNow();
      assert.deepEqual(
        first.held.map((h) => [h.orderId, h.state, h.message]),
        [['o-call', 'rejected', 'failing on purpose']],
      );
      assert.deepEqual(first.failures, [], 'a rejection is not retried with backoff');
      const held = (await f.store.listUsage()).find((b) => b.apiKey === API_KEYS.call);
      assert.equal(held?.reportStatus?.state, 'rejected');
      assert.equal(held?.outbox?.value, 1, 'the rejected record is kept');
      await f.proxy.usage.runNow();
      assert.equal(usage.failures.count, 0, 'the next scheduled cycle sent it again');
      await f.proxy.usage.runNow();
      assert.ok(!(await f.store.listUsage()).some((b) => b.outbox || b.pending > 0));
      assertAllAccepted();
      assert.equal(await metered('call'), before + 1);
    });

    test('resends the identical record after a timeout once the API had stored it', async () => {
      await f.store.addMarketplaceKey(usage.token, new Date());
      const before = await metered('call');
      const sent = usage.records.length;
      await call('call');
      usage.hangAfterStoring = 1;
      await f.proxy.usage.runNow();
      await eventually(
        async () => !(await f.store.listUsage()).some((b) => b.outbox || b.pending > 0),
      );
      const resent = usage.records.slice(sent).filter((r) => r.raw.includes('"o-call"'));
      assert.deepEqual(
        resent.map((r) => r.verdict),
        ['guided', 'duplicate'],
      );
      assert.equal(resent[0]?.raw, resent[1]?.raw);
      assertAllAccepted();
      assert.equal(await metered('call'), before + 1);
    });

    test('deleteBuy revokes access and reports the pending usage before the buy goes', async () => {
      await f.store.addMarketplaceKey(usage.token, new Date());
      usage.contract('o-del', 'p-del', 'alice', ['call']);
      const bought = await request(`${f.url}/accounting_proxy/newBuy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          orderId: 'o-del',
          productId: 'p-del',
          customer: 'alice',
          productSpecification: { url: `${f.url}/svc`, unit: 'call', recordType: 'callusage' },
        }),
      });
      const apiKey = bought.json<{ 'API-KEY': string }>()['API-KEY'];
      await request(`${f.url}/svc/echo`, {
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': apiKey },
      });
      await request(`${f.url}/svc/echo`, {
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': apiKey },
      });
      const deleted = await request(`${f.url}/accounting_proxy/deleteBuy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          orderId: 'o-del',
          productId: 'p-del',
          customer: 'alice',
          productSpecification: { url: `${f.url}/svc` },
        }),
      });
      assert.equal(deleted.status, 204);
      await eventually(async () => (await f.store.getUsage(apiKey)) === undefined);
      assert.deepEqual(usage.accepted('o-del', 'p-del'), { sum: 2, numbers: [0] });
      assertAllAccepted();
    });
  });
}

describe('usage reporting when the usage API is down at start', () => {
  const [sqlite] = storeBackends();
  test('the proxy starts, serves, and reports everything once the API is back', async () => {
    const usage = new FakeUsageApi();
    await usage.start();
    const port = Number(new URL(usage.url).port);
    await usage.stop();
    const f = await startProxyFixture(sqlite?.database() ?? assert.fail(), reportingEnv(usage));
    try {
      // Let the start-up cycle (no token yet) finish, so the next run is a fresh cycle.
      await f.proxy.usage.runNow();
      await f.store.addMarketplaceKey(usage.token, new Date());
      usage.contract('o-call', 'p-call', 'alice', ['call']);
      for (let i = 0; i < 3; i++)
        assert.equal((await request(`${f.url}/svc/echo`, { headers: f.buyer() })).status, 200);
      const failed = await f.proxy.usage.runNow();
      assert.ok(failed.failures.length > 0);
      await usage.start(port);
      await eventually(() => usage.accepted('o-call', 'p-call').sum === 3, 10_000);
      assert.deepEqual(usage.rejected(), []);
    } finally {
      await f.close();
      await usage.stop();
    }
  });
});
