import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../src/store/store.ts';
import { eventually, request } from '../support/client.ts';
import { sustainedLoad } from '../support/load.ts';
import { databaseEnv, type ProxyProcess, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

/** Usage the store holds for a buy: not yet reported, plus the record waiting in its outbox. */
async function storedUsage(store: Store, apiKey: string): Promise<number> {
  const buy = (await store.listUsage()).find((b) => b.apiKey === apiKey);
  return (buy?.pending ?? 0) + (buy?.outbox?.value ?? 0);
}

for (const backend of storeBackends()) {
  describe(`kill -9 under sustained load on ${backend.name}`, () => {
    const servers = suiteServers();
    let usage: FakeUsageApi;
    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
      usage.contract('o', 'p', 'alice', ['call']);
    });
    after(async () => {
      await usage.stop();
    });

    test('stored usage is between what clients completed and that plus in flight; the outbox resumes after restart', async () => {
      const database = backend.database();
      const store = await seedOneBuy(database, servers.api.url);
      await store.addMarketplaceKey(usage.token, new Date());
      const env = {
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
        ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
        ACCOUNTING_PROXY_USAGE_SCHEDULE: '* * * * * *',
        ACCOUNTING_PROXY_USAGE_RETRY: '50',
      };
      // The usage API refuses every record during the first run: they wait in the outbox.
      const failing = 1_000_000;
      usage.recordFailures = { count: failing, status: 500 };
      let proxy: ProxyProcess | undefined = await startProxyProcess(env);
      const concurrency = 16;
      const load = sustainedLoad(proxy.url, {
        concurrency,
        paths: ['/svc/bytes/2000'],
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key' },
      });
      try {
        await eventually(
          async () =>
            load.count(200) >= 300 &&
            usage.recordFailures.count < failing &&
            (await store.listUsage()).some((b) => b.outbox !== undefined),
          15_000,
        );
        proxy.child.kill('SIGKILL');
        await proxy.exited;
        const tally = await load.stop();
        const completed = tally.statuses.get(200) ?? 0;
        const stored = await storedUsage(store, 'key');
        assert.ok(stored >= completed, `stored ${stored} < completed ${completed}`);
        assert.ok(
          stored <= completed + concurrency,
          `stored ${stored} > completed ${completed} + in flight (at most ${concurrency})`,
        );

        usage.recordFailures = { count: 0, status: 500 };
        proxy = await startProxyProcess(env);
        const again = await request(`${proxy.url}/svc/bytes/10`, {
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key' },
        });
        assert.equal(again.status, 200);
        // Everything stored before the kill, and the exchange after it, reaches the marketplace
        // exactly once.
        await eventually(() => usage.accepted('o', 'p').sum === stored + 1, 15_000);
        await eventually(async () => (await storedUsage(store, 'key')) === 0);
        assert.deepEqual(usage.rejected(), []);
        const { numbers } = usage.accepted('o', 'p');
        assert.deepEqual(
          numbers,
          numbers.map((_, i) => i),
        );
      } finally {
        usage.recordFailures = { count: 0, status: 500 };
        await load.stop();
        await proxy?.stop();
        await store.close();
      }
    });
  });
}
