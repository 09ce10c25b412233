import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { cli } from '../support/cli.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

for (const backend of storeBackends()) {
  describe(`CLI usage and report on ${backend.name}`, () => {
    let usage: FakeUsageApi;
    let store: Store;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
      usage.contract('o1', 'p1', 'alice', ['call']);
      const database = backend.database();
      env = { ...databaseEnv(database), ACCOUNTING_PROXY_USAGE_API_URL: usage.url };
      store = await openStore(database);
      await store.addService({
        publicPath: '/svc',
        url: 'http://127.0.0.1:1',
        appId: 'a',
        methods: ['GET'],
        isContextBroker: false,
      });
      await store.addBuy({
        apiKey: 'k1',
        publicPath: '/svc',
        orderId: 'o1',
        productId: 'p1',
        customer: 'alice',
        unit: 'call',
        recordType: 'callusage',
      });
      await store.addUsage([{ apiKey: 'k1', amount: 4 }]);
    });
    after(async () => {
      await store.close();
      await usage.stop();
    });

    test('usage lists each buy with its pending amount and next record number', async () => {
      const table = await cli(env, 'usage');
      assert.equal(table.code, 0, table.stderr);
      const [header, row] = table.stdout.trimEnd().split('\n');
      assert.match(
        header ?? '',
        /^CUSTOMER\s+ORDER\s+PRODUCT\s+SERVICE\s+UNIT\s+PENDING\s+NEXT #\s+UNSENT RECORD\s+STATE\s+REPORTING$/,
      );
      assert.match(row ?? '', /^alice\s+o1\s+p1\s+\/svc\s+call\s+4\s+0\s+-\s+active\s+ok$/);
      assert.match(table.stdout, /\n\nNo marketplace key\.\n$/);
      const json = JSON.parse((await cli(env, 'usage', '--json')).stdout);
      assert.deepEqual(json, {
        buys: [
          {
            publicPath: '/svc',
            orderId: 'o1',
            productId: 'p1',
            customer: 'alice',
            unit: 'call',
            recordType: 'callusage',
            pending: 4,
            correlationNumber: 0,
            revoked: false,
            reporting: { state: 'ok' },
          },
        ],
        marketplaceKeys: [],
      });
    });

    test('report without a marketplace token sends nothing and says why', async () => {
      const result = await cli(env, 'report');
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^error: no marketplace key yet/);
      assert.equal(usage.records.length, 0);
    });

    test('report refuses while another cycle holds the lock', async () => {
      await store.addMarketplaceKey(usage.token, new Date());
      await store.acquireLock('usage-report', 'elsewhere:1:x', 60_000);
      const result = await cli(env, 'report');
      assert.equal(result.code, 1);
      assert.equal(result.stderr, 'error: another report cycle is running; try again later\n');
      await store.releaseLock('usage-report', 'elsewhere:1:x');
    });

    test('report runs one cycle now and prints what it sent', async () => {
      await store.addMarketplaceKey(usage.token, new Date());
      const result = await cli(env, 'report');
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^ORDER\s+PRODUCT\s+UNIT\s+#\s+VALUE\s+DATE\no1\s+p1\s+call\s+0\s+4\s+\d{4}-/,
      );
      assert.deepEqual(usage.accepted('o1', 'p1'), { sum: 4, numbers: [0] });
      assert.deepEqual(await store.getUsage('k1'), {
        apiKey: 'k1',
        pending: 0,
        reported: 4,
        correlationNumber: 1,
      });
      assert.equal((await cli(env, 'report')).stdout, 'No usage record sent.\n');
    });
  });
}
