import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../config.ts';
import { openStore } from '../../src/store/open.ts';
import { type FakeBackend, startFakeBackend } from '../support/backend.ts';
import { eventually, request } from '../support/client.ts';
import { type FakeIdm, keyrockUser, startFakeIdm } from '../support/idm.ts';
import { sustainedLoad } from '../support/load.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { seedOneBuy } from '../support/seed.ts';

describe('Redis stopped under sustained load, then restarted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ap-redis-outage-'));
  let redis: RedisServer;
  let idm: FakeIdm;
  let api: FakeBackend;
  before(async () => {
    [idm, api, redis] = await Promise.all([
      startFakeIdm(),
      startFakeBackend(),
      startRedisServer({ persistIn: dir }),
    ]);
    idm.users.set('alice-token', keyrockUser('alice', 'app-1'));
    idm.users.set('root-token', keyrockUser('root', 'app-1'));
  });
  after(async () => {
    await Promise.all([idm.close(), api.close(), redis.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('buyers get 503 while it is down, no acknowledged usage is lost, service resumes without restart', async () => {
    const database = {
      ...defaultConfig().database,
      type: 'redis' as const,
      name: '0',
      redis_host: '127.0.0.1',
      redis_port: redis.port,
    };
    const store = await seedOneBuy(database, api.url);
    await store.addAdmin('root');
    await store.bindAdmin('root', '/svc');
    await store.close();
    const proxy = await startProxyProcess({
      ...databaseEnv(database),
      ACCOUNTING_PROXY_IDM_URL: idm.url,
    });
    const buyer = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };
    const load = sustainedLoad(proxy.url, { concurrency: 8, paths: ['/svc/echo'], headers: buyer });
    try {
      await eventually(() => load.count(200) >= 200, 10_000);
      await redis.stop();
      // The load's clients now wait for answers held until their usage is committed; newcomers
      // are refused.
      await eventually(
        async () => (await request(`${proxy.url}/svc/echo`, { headers: buyer })).status === 503,
        10_000,
      );
      const seen = api.received.length;
      for (let i = 0; i < 20; i++) {
        const refused = await request(`${proxy.url}/svc/echo`, { headers: buyer });
        assert.equal(refused.status, 503);
        assert.deepEqual(refused.json(), { error: 'Accounting store unavailable' });
      }
      assert.equal(api.received.length, seen, 'nothing unbilled reaches the backend');
      // Admins are not metered: the store is not needed to serve them.
      const admin = await request(`${proxy.url}/svc/echo`, {
        headers: { 'x-auth-token': 'root-token' },
      });
      assert.equal(admin.status, 200);

      redis = await startRedisServer({ port: redis.port, persistIn: dir });
      const okBefore = load.count(200);
      await eventually(() => load.count(200) >= okBefore + 200, 15_000);
      const tally = await load.stop();
      assert.equal(proxy.child.exitCode, null, 'the proxy never exited');
      assert.equal(tally.broken, 0, 'no exchange was cut off');

      const reopened = await openStore(database);
      try {
        // Every 200 a client received was billed once; a refused request was not.
        await eventually(async () => (await reopened.getUsage('key'))?.pending === load.count(200));
      } finally {
        await reopened.close();
      }
    } finally {
      await load.stop();
      await proxy.stop();
    }
  });
});
