import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { cli } from '../support/cli.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';

for (const backend of storeBackends()) {
  describe(`CLI setLimits on ${backend.name}`, () => {
    let store: Store;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      const database = backend.database();
      env = databaseEnv(database);
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
    });
    after(() => store.close());

    const ok = async (...argv: string[]) => {
      const result = await cli(env, ...argv);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    };
    const fail = async (...argv: string[]) => {
      const result = await cli(env, ...argv);
      assert.equal(result.code, 1, result.stdout);
      assert.equal(result.stderr.split('\n').length, 2, result.stderr);
      return result.stderr;
    };

    test('sets, adds to, shows and clears the limits of a service and of a buy', async () => {
      assert.equal(
        await ok('setLimits', '/svc', '--rate', '5/second'),
        'Service /svc: rate 5/second.\n',
      );
      assert.equal(
        await ok('setLimits', '/svc', '--quota', '10000/month'),
        'Service /svc: rate 5/second, quota 10000/month.\n',
        'a kind given alone keeps the other',
      );
      assert.equal(
        await ok('setLimits', '/svc', '--order', 'o1', '--product', 'p1', '--quota', '2/total'),
        'The buy of order "o1" and product "p1" on /svc: quota 2/total.\n',
      );
      const table = (await ok('getService')).split('\n');
      assert.match(table[0] ?? '', /METHODS\s+LIMITS$/);
      assert.match(
        table[1] ?? '',
        /^\/svc .* rate 5\/second, quota 10000\/month; 1 buy\(s\) their own$/,
      );
      assert.deepEqual(JSON.parse(await ok('getService', '-p', '/svc', '--json')).limits, {
        rate: { limit: 5, per: 'second' },
        quota: { amount: 10000, period: 'month' },
      });
      assert.deepEqual(await store.listLimits(), [
        {
          publicPath: '/svc',
          limits: { rate: { limit: 5, per: 'second' }, quota: { amount: 10000, period: 'month' } },
        },
        { publicPath: '/svc', apiKey: 'k1', limits: { quota: { amount: 2, period: 'total' } } },
      ]);
      assert.match(
        await ok('setLimits', '/svc', '--order', 'o1', '--product', 'p1', '--clear'),
        /no limits of its own/,
      );
      assert.equal(
        await ok('setLimits', '/svc', '--clear'),
        'Service /svc: no limits of its own.\n',
      );
      assert.deepEqual(await store.listLimits(), []);
      assert.doesNotMatch((await ok('getService')).split('\n')[0] ?? '', /LIMITS/);
    });

    test('refuses what it cannot set with one line and exit code 1', async () => {
      assert.match(await fail('setLimits', '/svc'), /Give --rate, --quota or --clear\./);
      assert.match(await fail('setLimits', '/svc', '--rate', '5/week'), /A rate is <requests>/);
      assert.match(await fail('setLimits', '/svc', '--quota', '-1/day'), /A quota is <amount>/);
      assert.match(
        await fail('setLimits', '/svc', '--clear', '--rate', '1/second'),
        /--clear takes no --rate or --quota/,
      );
      assert.match(
        await fail('setLimits', '/svc', '--order', 'o1', '--rate', '1/second'),
        /--order and --product name a buy together/,
      );
      assert.match(
        await fail('setLimits', '/svc', '--order', 'o9', '--product', 'p9', '--rate', '1/second'),
        /No buy in force of order "o9" and product "p9" on service "\/svc"\./,
      );
      assert.match(await fail('setLimits', '/nope', '--rate', '1/second'), /\/nope/);
    });
  });
}
