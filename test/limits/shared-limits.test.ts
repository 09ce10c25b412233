/**
 * Three proxy processes on one store (a SQLite file, a redis-server) under 50 concurrent clients:
 * together they admit exactly a call quota, a rate limit within one window, and a megabyte quota
 * overshot by no more than the bytes in flight; no refused request reaches the backend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { request } from '../support/client.ts';
import { keyrockUser } from '../support/idm.ts';
import { databaseEnv, type ProxyProcess, startProxyProcess } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';

const CLIENTS = 50;
const MiB = 1024 * 1024;

/** `total` requests from CLIENTS clients at once, spread over the proxies; their statuses. */
async function load(proxies: ProxyProcess[], total: number, path: string, apiKey: string) {
  let next = 0;
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < total) {
        const i = next++;
        const proxy = proxies[i % proxies.length] as ProxyProcess;
        const answer = await request(`${proxy.url}/svc${path}`, {
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': apiKey },
        });
        statuses.push(answer.status);
        if (answer.status === 429) {
          assert.ok(answer.headers['ratelimit-policy'], 'a refusal carries RateLimit-Policy');
          assert.ok(answer.headers.ratelimit, 'and RateLimit');
          assert.match(String(answer.headers['retry-after']), /^[1-9]\d*$/, 'and Retry-After');
        }
      }
    }),
  );
  return {
    ok: statuses.filter((s) => s === 200).length,
    limited: statuses.filter((s) => s === 429).length,
  };
}

for (const backend of storeBackends()) {
  describe(`three proxies on one ${backend.name} store`, () => {
    const servers = suiteServers();
    let store: Store;
    const proxies: ProxyProcess[] = [];
    const buy = async (apiKey: string, unit: string) =>
      store.addBuy({
        apiKey,
        publicPath: '/svc',
        orderId: `order-${apiKey}`,
        productId: 'p',
        customer: 'alice',
        unit,
        recordType: unit === 'call' ? 'callusage' : 'data',
      });
    const limit = (apiKey: string, limits: Parameters<Store['setLimits']>[1]) =>
      store.setLimits('/svc', limits, { orderId: `order-${apiKey}`, productId: 'p' });

    before(async () => {
      servers.idm.users.set('alice-token', keyrockUser('alice', 'app-1'));
      const database = backend.database();
      store = await openStore(database);
      await store.addService({
        publicPath: '/svc',
        url: servers.api.url,
        appId: 'app-1',
        methods: ['GET'],
        isContextBroker: false,
      });
      await buy('quota', 'call');
      await limit('quota', { quota: { amount: 40, period: 'month' } });
      await buy('rate', 'call');
      await limit('rate', { rate: { limit: 25, per: 'hour' } });
      await buy('mb', 'megabyte');
      await limit('mb', { quota: { amount: 2, period: 'day' } });
      const env = {
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
        ACCOUNTING_PROXY_MODULES: 'call,megabyte',
      };
      for (let i = 0; i < 3; i++) proxies.push(await startProxyProcess(env));
    });
    after(async () => {
      await Promise.all(proxies.map((proxy) => proxy.stop()));
      await store.close();
    });

    const forwardedTo = (path: string) =>
      servers.api.received.filter((r) => r.url.startsWith(path)).length;

    // The current UTC month or day, to know whether a run crossed into the next one.
    const period = (length: number) => new Date().toISOString().slice(0, length);

    test('admit exactly a call quota', async () => {
      const month = period(7);
      const { ok, limited } = await load(proxies, 150, '/echo/quota', 'quota');
      // Across a month's boundary the next month admits its own 40.
      if (period(7) === month) assert.equal(ok, 40);
      else assert.ok(ok >= 40 && ok <= 80, `${ok} admitted`);
      assert.equal(ok + limited, 150);
      assert.equal(forwardedTo('/echo/quota'), ok, 'refusals never reach the backend');
    });

    test('admit a rate limit within one window', async () => {
      const hour = Math.floor(Date.now() / 3_600_000);
      const { ok } = await load(proxies, 100, '/echo/rate', 'rate');
      // Across an hour's boundary the next window admits its own 25.
      if (Math.floor(Date.now() / 3_600_000) === hour) assert.equal(ok, 25);
      else assert.ok(ok >= 25 && ok <= 50, `${ok} admitted`);
      assert.equal(forwardedTo('/echo/rate'), ok);
    });

    test('overshoot a megabyte quota by no more than the bytes in flight', async () => {
      // Admitted while less than the quota is spent: at most CLIENTS exchanges of 0.5 MiB at once.
      const day = period(10);
      const { ok, limited } = await load(proxies, 200, `/bytes/${MiB / 2}`, 'mb');
      if (period(10) !== day) return; // a new day began mid-run: its own quota, nothing to check
      assert.ok(limited > 0);
      const metered = (await store.getUsage('mb'))?.pending ?? 0;
      assert.equal(metered, ok * 0.5, 'every admitted exchange metered');
      assert.ok(metered >= 2, 'the quota was reached');
      assert.ok(metered < 2 + CLIENTS * 0.5, `${metered} MB: over by less than what was in flight`);
      const after = await load(proxies, 6, `/bytes/${MiB / 2}`, 'mb');
      assert.deepEqual(after, { ok: 0, limited: 6 }, 'spent: refused from then on');
    });
  });
}
