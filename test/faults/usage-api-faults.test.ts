import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/store/store.ts';
import { eventually } from '../support/client.ts';
import { sustainedLoad } from '../support/load.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

async function unreported(store: Store): Promise<number> {
  const buys = await store.listUsage();
  return buys.reduce((sum, b) => sum + b.pending + (b.outbox?.value ?? 0), 0);
}

const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

for (const backend of storeBackends()) {
  describe(`usage API failing under sustained load on ${backend.name}`, () => {
    const servers = suiteServers();

    for (const mode of ['tmf635', 'bae-7.8.0'] as const) {
      test(`down for many cycles, then answering 500, then timing out after storing: everything reported exactly once (usage API: ${mode})`, async () => {
        const usage = new FakeUsageApi('marketplace-token', { mode });
        await usage.start();
        usage.contract('o', 'p', 'alice', ['call']);
        const database = backend.database();
        const store = await seedOneBuy(database, servers.api.url);
        await store.addMarketplaceKey(usage.token, new Date());
        await usage.stop();
        const proxy = await startProxyProcess({
          ...databaseEnv(database),
          ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
          ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
          ACCOUNTING_PROXY_USAGE_SCHEDULE: '* * * * * *',
          ACCOUNTING_PROXY_USAGE_RETRY: '50',
          ACCOUNTING_PROXY_USAGE_RETRY_MAX: '200',
          ACCOUNTING_PROXY_USAGE_TIMEOUT: '300',
        });
        const load = sustainedLoad(proxy.url, {
          concurrency: 6,
          paths: ['/svc/echo'],
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key' },
        });
        try {
          // Down: connections refused, cycle after cycle.
          await eventually(
            () => occurrences(proxy.output(), 'usage report incomplete; retrying') >= 5,
            15_000,
          );
          // Back, but failing with 500 for a while.
          usage.failures = { count: 4, status: 500 };
          await usage.start();
          await eventually(() => usage.failures.count === 0, 15_000);
          // Then it stores a record and never answers: the proxy times out and resends it.
          usage.hangAfterStoring = 1;
          await eventually(() => usage.hangAfterStoring === 0, 15_000);
          await eventually(() => usage.records.length >= 3, 15_000);

          const tally = await load.stop();
          assert.deepEqual([...tally.statuses.keys()], [200], 'serving never depended on the API');
          assert.equal(proxy.child.exitCode, null);
          await eventually(() => usage.accepted('o', 'p').sum === load.count(200), 15_000);
          await eventually(async () => (await unreported(store)) === 0);
          assert.deepEqual(usage.rejected(), []);
          const duplicates = usage.records.filter((r) => r.verdict === 'duplicate');
          assert.ok(duplicates.length >= 1, 'the unanswered record was resent');
          const { numbers } = usage.accepted('o', 'p');
          assert.deepEqual(
            numbers,
            numbers.map((_, i) => i),
          );
        } finally {
          await load.stop();
          await proxy.stop();
          await usage.stop();
          await store.close();
        }
      });
    }
  });
}
