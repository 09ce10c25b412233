import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { sustainedLoad } from '../support/load.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { lockSqliteFile } from '../support/sqlite-lock.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';

describe('SQLite file locked by another process under sustained load', () => {
  const [sqlite] = storeBackends();
  const servers = suiteServers();

  test('no crash, newcomers 503 while it lasts, commits retried with a clear log, nothing lost', async () => {
    const database = sqlite?.database() ?? assert.fail('no SQLite backend');
    const store = await seedOneBuy(database, servers.api.url);
    const proxy = await startProxyProcess({
      ...databaseEnv(database),
      ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
    });
    const buyer = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };
    const load = sustainedLoad(proxy.url, { concurrency: 6, paths: ['/svc/echo'], headers: buyer });
    try {
      await eventually(() => load.count(200) >= 100, 10_000);
      // Requests the load sends from here on may arrive while commits fail: those are newcomers.
      const locking = load.mark();
      const lock = await lockSqliteFile(database.name);
      try {
        await eventually(() => proxy.output().includes('cannot commit usage; retrying'), 10_000);
        await eventually(
          async () => (await request(`${proxy.url}/svc/echo`, { headers: buyer })).status === 503,
          10_000,
        );
        assert.match(proxy.output(), /database is locked/);
      } finally {
        await lock.release();
      }
      await eventually(() => proxy.output().includes('usage commits succeed again'), 15_000);
      const recovered = load.mark();
      const okAfterLock = load.count(200);
      await eventually(() => load.count(200) >= okAfterLock + 100, 15_000);
      const tally = await load.stop();
      assert.deepEqual(
        [...load.statusesSent(0, locking)],
        [200],
        'everything the load sent before the lock got 200, held until committed',
      );
      assert.deepEqual([...load.statusesSent(recovered)], [200], 'and everything after it');
      assert.ok(
        [...load.statusesSent(locking, recovered)].every((s) => s === 200 || s === 503),
        'while commits failed, newcomers were refused with 503 or held until committed',
      );
      assert.equal(tally.broken, 0);
      assert.equal(proxy.child.exitCode, null, 'the proxy never exited');
      assert.match(proxy.output(), /usage commits succeed again/);
      await eventually(async () => (await store.getUsage('key'))?.pending === load.count(200));
    } finally {
      await load.stop();
      await proxy.stop();
      await store.close();
    }
  });
});
