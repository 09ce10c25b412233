import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../src/log.ts';
import { startProxy } from '../../src/server.ts';
import { type FakeBackend, startFakeBackend } from '../support/backend.ts';
import { eventually, request } from '../support/client.ts';
import { type FakeIdm, keyrockUser, startFakeIdm } from '../support/idm.ts';
import { startProxyFixture } from '../support/proxy-fixture.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

const backends = storeBackends();

for (const backend of backends) {
  describe(`usage reporting across a crash on ${backend.name}`, () => {
    let idm: FakeIdm;
    let api: FakeBackend;
    before(async () => {
      [idm, api] = await Promise.all([startFakeIdm(), startFakeBackend()]);
      idm.users.set('alice-token', keyrockUser('alice', 'app-1'));
    });
    after(async () => {
      await Promise.all([idm.close(), api.close()]);
    });

    for (const mode of ['tmf635', 'bae-7.8.0'] as const) {
      test(`a proxy killed between sending a record and committing it resends it identically (usage API: ${mode})`, async () => {
        const usage = new FakeUsageApi('marketplace-token', { mode });
        await usage.start();
        usage.contract('o', 'p', 'alice', ['call']);
        const database = backend.database();
        const store = await seedOneBuy(database, api.url);
        await store.addMarketplaceKey(usage.token, new Date());
        const env = {
          ...databaseEnv(database),
          ACCOUNTING_PROXY_IDM_URL: idm.url,
          ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
          ACCOUNTING_PROXY_USAGE_SCHEDULE: '* * * * * *',
          ACCOUNTING_PROXY_USAGE_RETRY: '50',
        };
        const headers = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };
        let proxy = await startProxyProcess(env);
        try {
          let release!: () => void;
          const held = new Promise<void>((resolve) => {
            release = resolve;
          });
          // The first record is stored by the usage API, then the proxy dies before it hears 201.
          const arrived = new Promise<void>((resolve) => {
            usage.beforeAnswer = async () => {
              usage.beforeAnswer = undefined;
              resolve();
              await held;
            };
          });
          for (let i = 0; i < 5; i++) {
            assert.equal((await request(`${proxy.url}/svc/echo`, { headers })).status, 200);
          }
          await arrived;
          proxy.child.kill('SIGKILL');
          await proxy.exited;
          release();

          proxy = await startProxyProcess(env);
          for (let i = 0; i < 2; i++) {
            assert.equal((await request(`${proxy.url}/svc/echo`, { headers })).status, 200);
          }
          await eventually(() => usage.accepted('o', 'p').sum === 7, 10_000);
          const records = usage.records.filter((r) => r.raw.includes('"o"'));
          assert.equal(records[0]?.verdict, 'guided');
          assert.equal(records[1]?.verdict, 'duplicate');
          assert.equal(records[1]?.raw, records[0]?.raw, 'the resent record is identical');
          assert.ok(records.slice(2).every((r) => r.verdict === 'guided'));
          const { numbers } = usage.accepted('o', 'p');
          assert.deepEqual(
            numbers,
            numbers.map((_, i) => i),
          );
          assert.deepEqual(usage.rejected(), []);
        } finally {
          usage.beforeAnswer = undefined;
          await proxy.stop();
          await store.close();
          await usage.stop();
        }
      });
    }
  });
}

describe('two proxies sharing one Redis', () => {
  const redis = backends.find((b) => b.name === 'Redis');
  test('send each usage record exactly once', async () => {
    const usage = new FakeUsageApi();
    await usage.start();
    usage.contract('o-call', 'p-call', 'alice', ['call']);
    const env = {
      ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
      ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
    };
    const database = redis?.database() ?? assert.fail('no Redis');
    const first = await startProxyFixture(database, env);
    const config = loadConfig({ ...env, ACCOUNTING_PROXY_IDM_URL: first.idm.url });
    config.database = database;
    config.accounting_proxy.port = 0;
    config.ops.port = 0;
    config.log.access_log = false;
    const second = await startProxy(config, createLogger('silent'));
    try {
      await first.store.addMarketplaceKey(usage.token, new Date());
      const urls = [first.url, `http://127.0.0.1:${second.port}`];
      let served = 0;
      for (let round = 0; round < 10; round++) {
        for (const url of urls) {
          for (let i = 0; i < 3; i++) {
            assert.equal(
              (await request(`${url}/svc/echo`, { headers: first.buyer() })).status,
              200,
            );
            served++;
          }
        }
        await Promise.all([
          first.proxy.usage.runNow(),
          second.usage.runNow(),
          first.proxy.usage.runNow(),
        ]);
      }
      await eventually(async () => {
        await first.proxy.usage.runNow();
        return usage.accepted('o-call', 'p-call').sum === served;
      });
      const records = usage.records.filter((r) => r.raw.includes('"o-call"'));
      assert.ok(
        records.every((r) => r.verdict === 'guided'),
        'no record is sent twice or rejected',
      );
      const { numbers } = usage.accepted('o-call', 'p-call');
      assert.deepEqual(
        numbers,
        numbers.map((_, i) => i),
      );
    } finally {
      await second.close();
      await first.close();
      await usage.stop();
    }
  });
});
