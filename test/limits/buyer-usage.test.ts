/**
 * `GET /accounting_proxy/usage`: a buyer's figures are the billed ones: `reported` is what the
 * usage API stand-in accepted, `pending` what is metered and not accepted yet.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../support/client.ts';
import { API_KEYS, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

interface BuyView {
  apiKey?: string;
  service: string;
  orderId: string;
  productId: string;
  customer: string;
  unit: string;
  pending: number;
  reported: number;
  rate?: unknown;
  quota?: { amount: number; period: string; spent: number; remaining: number; renewsAt?: string };
}

for (const backend of storeBackends()) {
  describe(`a buyer's own usage, ${backend.name}`, () => {
    let f: ProxyFixture;
    let usage: FakeUsageApi;
    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
      for (const unit of Object.keys(API_KEYS))
        usage.contract(`o-${unit}`, `p-${unit}`, 'alice', [unit]);
      usage.contract('o-e', 'p-e', 'alice', ['call']);
      f = await startProxyFixture(backend.database(), {
        ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
        // Reports only when the test runs one.
        ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
      });
      await f.store.addMarketplaceKey(usage.token, new Date());
    });
    after(async () => {
      await f.close();
      await usage.stop();
    });

    const views = async (headers: Record<string, string>) => {
      const answer = await request(`${f.url}/accounting_proxy/usage`, { headers });
      assert.equal(answer.status, 200, answer.body.toString());
      return answer.json<BuyView[]>();
    };
    const alice = { 'x-auth-token': 'alice-token' };
    const traffic = async (calls: number, bytes: number) => {
      for (let i = 0; i < calls; i++) {
        assert.equal(
          (await request(`${f.url}/svc/echo/u`, { headers: f.buyer('call') })).status,
          200,
        );
      }
      const mb = await request(`${f.url}/svc/bytes/${bytes}`, { headers: f.buyer('megabyte') });
      assert.equal(mb.status, 200);
      await f.proxy.recorder.drain();
    };
    const billed = (view: BuyView) => usage.accepted(view.orderId, view.productId).sum;

    test('equals what the usage API accepted plus what is pending, through traffic and reports', async () => {
      await traffic(3, 524288);
      let mine = await views(alice);
      const byKey = (list: BuyView[]) =>
        Object.fromEntries(list.map((v) => [v.apiKey, [v.unit, v.pending, v.reported]]));
      assert.deepEqual(byKey(mine), {
        [API_KEYS.call]: ['call', 3, 0],
        [API_KEYS.megabyte]: ['megabyte', 0.5, 0],
        [API_KEYS.millisecond]: ['millisecond', 0, 0],
        'key-exact': ['call', 0, 0],
      });
      assert.equal(mine.length, 4, 'every buy of alice, and none of bob');
      await f.proxy.usage.runNow();
      await traffic(2, 262144);
      mine = await views(alice);
      for (const view of mine) {
        assert.equal(view.reported, billed(view), `${view.orderId}: reported is what was accepted`);
      }
      const call = mine.find((v) => v.unit === 'call' && v.service === '/svc');
      assert.deepEqual([call?.reported, call?.pending], [3, 2]);
      const mb = mine.find((v) => v.unit === 'megabyte');
      assert.deepEqual([mb?.reported, mb?.pending], [0.5, 0.25]);
      await f.proxy.usage.runNow();
      for (const view of await views(alice)) {
        assert.equal(view.pending, 0);
        assert.equal(view.reported, billed(view));
      }
    });

    test("one buy with X-API-Key; a key not the caller's is refused", async () => {
      const one = await views({ ...alice, 'x-api-key': API_KEYS.megabyte });
      assert.deepEqual(
        one.map((v) => v.apiKey),
        [API_KEYS.megabyte],
      );
      const refused = await request(`${f.url}/accounting_proxy/usage`, {
        headers: { ...alice, 'x-api-key': 'key-bob' },
      });
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.json(), { error: 'Invalid API key' });
      const noToken = await request(`${f.url}/accounting_proxy/usage`);
      assert.equal(noToken.status, 401);
    });

    test("an admin sees every buy of its services, without others' keys; limits with this period's figures", async () => {
      await f.store.setLimits('/svc', {
        rate: { limit: 10, per: 'second' },
        quota: { amount: 100, period: 'total' },
      });
      await f.proxy.routing.recheck();
      await traffic(1, 1);
      const all = await views({ 'x-auth-token': 'root-token' });
      assert.deepEqual(all.map((v) => [v.service, v.customer, v.apiKey]).sort(), [
        ['/svc', 'alice', undefined],
        ['/svc', 'alice', undefined],
        ['/svc', 'alice', undefined],
      ]);
      const call = all.find((v) => v.unit === 'call');
      assert.deepEqual(call?.rate, { limit: 10, per: 'second' });
      assert.deepEqual(call?.quota, { amount: 100, period: 'total', spent: 1, remaining: 99 });
      await f.store.setLimits('/svc', undefined);
    });
  });
}
