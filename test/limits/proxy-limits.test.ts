import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { API_KEYS, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { type TestClock, testClock } from '../support/test-clock.ts';

for (const backend of storeBackends()) {
  describe(`limits on the proxy path, ${backend.name}`, () => {
    let f: ProxyFixture;
    let clock: TestClock;
    before(async () => {
      // 23:59:58 UTC on the last day of December: a day, a month and a rate window end soon.
      clock = testClock(Date.parse('2026-12-31T23:59:58.000Z'));
      const ops = { ACCOUNTING_PROXY_OPS_PORT: String(await freePort()) };
      f = await startProxyFixture(backend.database(), ops, { clock });
    });
    after(() => f.close());

    const forwarded = () => f.backend.received.length;
    const get = (path: string, unit: 'call' | 'megabyte' = 'call') =>
      request(`${f.url}/svc${path}`, { headers: f.buyer(unit) });
    const setLimits = async (...args: Parameters<ProxyFixture['store']['setLimits']>) => {
      await f.store.setLimits(...args);
      await f.proxy.routing.recheck();
    };
    const clearAll = async () => {
      await setLimits('/svc', undefined);
      const buys = await f.store.listBuys({ publicPath: '/svc' });
      for (const b of buys) {
        await setLimits('/svc', undefined, { orderId: b.orderId, productId: b.productId });
      }
    };
    beforeEach(clearAll);

    test('a call quota admits exactly its amount; refusals never reach the backend', async () => {
      await setLimits('/svc', { quota: { amount: 3, period: 'month' } });
      const before = forwarded();
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await get('/echo/q'));
      assert.deepEqual(
        answers.map((a) => a.status),
        [200, 200, 200, 429, 429],
      );
      assert.equal(forwarded() - before, 3);
      const refused = answers[3];
      assert.ok(refused);
      assert.deepEqual(refused.json(), {
        error: 'Quota spent: 3 call per month. Retry after the time in Retry-After.',
      });
      assert.equal(refused.headers['retry-after'], '2', 'the month ends in 2 seconds');
      assert.equal(refused.headers['ratelimit-policy'], '"quota";q=3;w=2592000;qu="requests"');
      assert.equal(refused.headers.ratelimit, '"quota";r=0;t=2');
      assert.equal(answers[0]?.headers.ratelimit, '"quota";r=2;t=2');
      assert.equal(answers[2]?.headers.ratelimit, '"quota";r=0;t=2');
      const metrics = (
        await request(`http://127.0.0.1:${f.proxy.opsPort}/metrics`)
      ).body.toString();
      assert.match(
        metrics,
        /accounting_proxy_requests_total\{service="\/svc",outcome="limited",code="QUOTA_EXCEEDED"\} 2/,
      );
      assert.match(metrics, /accounting_proxy_buys_over_quota 1\b/);
      // The next month admits again.
      clock.advance(2000);
      const renewed = await get('/echo/q');
      assert.equal(renewed.status, 200);
      assert.equal(renewed.headers.ratelimit, '"quota";r=2;t=2678400');
      const later = (await request(`http://127.0.0.1:${f.proxy.opsPort}/metrics`)).body.toString();
      assert.match(later, /accounting_proxy_buys_over_quota 0\b/, 'a new period: none over');
    });

    test('a rate limit admits its requests per window, then 429 until the next', async () => {
      await setLimits('/svc', { rate: { limit: 2, per: 'second' } });
      clock.advance(1000 - (clock.now() % 1000)); // the start of a window
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get('/echo/r')).status);
      assert.deepEqual(statuses, [200, 200, 429]);
      const refused = await get('/echo/r');
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(refused.headers['ratelimit-policy'], '"rate";q=2;w=1;qu="requests"');
      assert.deepEqual(refused.json(), {
        error: 'Rate limit reached: 2 requests per second. Retry after the time in Retry-After.',
      });
      clock.advance(1000);
      assert.equal((await get('/echo/r')).status, 200);
    });

    test("a buy's own limits beat its service's; clearing them restores the service's", async () => {
      await setLimits('/svc', { quota: { amount: 0, period: 'total' } });
      assert.equal((await get('/echo/o')).status, 429);
      const own = await f.store.getBuy(API_KEYS.call);
      assert.ok(own);
      const buy = { orderId: own.orderId, productId: own.productId };
      await setLimits('/svc', { quota: { amount: 100, period: 'total' } }, buy);
      const served = await get('/echo/o');
      assert.equal(served.status, 200);
      assert.equal(served.headers['ratelimit-policy'], '"quota";q=100;qu="requests"');
      await setLimits('/svc', undefined, buy);
      const again = await get('/echo/o');
      assert.equal(again.status, 429);
      assert.equal(again.headers['retry-after'], undefined, 'a total quota never renews');
      await setLimits('/svc', undefined);
      const unlimited = await get('/echo/o');
      assert.equal(unlimited.status, 200);
      assert.equal(unlimited.headers.ratelimit, undefined, 'no limits, no fields');
    });

    test('a call the backend never answered gives its reservation back', async () => {
      // A day of its own: the earlier tests spent in other periods.
      clock.advance(86_400_000);
      await setLimits('/svc', { quota: { amount: 1, period: 'day' } });
      // /reset: the backend drops the connection before answering.
      assert.equal((await get('/reset')).status, 502);
      assert.equal((await get('/echo/after')).status, 200);
      assert.equal((await get('/echo/after')).status, 429);
    });

    test('a megabyte quota refuses once spent; the overshoot is the exchange in flight', async () => {
      clock.advance(86_400_000);
      await setLimits('/svc', { quota: { amount: 1, period: 'day' } });
      const before = forwarded();
      const first = await get('/bytes/1572864', 'megabyte');
      assert.equal(first.status, 200, first.body.toString().slice(0, 200));
      await f.proxy.recorder.drain();
      const refused = await get('/bytes/1', 'megabyte');
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['ratelimit-policy'], '"quota";q=1;w=86400');
      assert.equal(forwarded() - before, 1);
      // The next day admits again.
      clock.advance(86_400_000);
      assert.equal((await get('/bytes/1', 'megabyte')).status, 200);
    });
  });
}
