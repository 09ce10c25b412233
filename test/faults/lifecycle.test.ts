import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { describe, test } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import { startFakeBackend } from '../support/backend.ts';
import { eventually, request } from '../support/client.ts';
import { keyrockUser, startFakeIdm } from '../support/idm.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';

/** Status of one request, or 0 if it failed. */
function status(url: string, headers: Record<string, string>, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

for (const backend of storeBackends()) {
  describe(`proxy lifecycle on ${backend.name}`, () => {
    const servers = suiteServers();

    test('SIGTERM with 200 requests in flight: all complete, all metered, exit 0', async () => {
      const database = backend.database();
      const store = await seedOneBuy(database, servers.api.url);
      const proxy = await startProxyProcess({
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
      });
      const agent = new Agent({ keepAlive: true, maxSockets: 200 });
      try {
        const headers = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };
        // warm the token cache, so all 200 are forwarded at once
        assert.equal((await request(`${proxy.url}/svc/echo`, { headers })).status, 200);
        const seen = servers.api.received.length;
        const responses = Array.from({ length: 200 }, () =>
          status(`${proxy.url}/svc/delay/400`, headers, agent),
        );
        await eventually(() => servers.api.received.length - seen === 200, 10_000);
        proxy.child.kill('SIGTERM');
        const statuses = await Promise.all(responses);
        assert.deepEqual(
          statuses.filter((s) => s !== 200),
          [],
          'every in-flight request completes',
        );
        assert.equal(await proxy.exited, 0);
        assert.equal((await store.getUsage('key'))?.pending, 201);
      } finally {
        agent.destroy();
        await proxy.stop();
        await store.close();
      }
    });

    test('a second signal stops at once: exit 1, the usage committed so far kept', async () => {
      const database = backend.database();
      const store = await seedOneBuy(database, servers.api.url);
      const proxy = await startProxyProcess({
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
        // Far longer than the test may wait: the second signal must not wait for it.
        ACCOUNTING_PROXY_SHUTDOWN_GRACE: '600000',
      });
      const agent = new Agent({ keepAlive: true });
      try {
        const headers = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };
        for (let i = 0; i < 3; i++) {
          assert.equal((await request(`${proxy.url}/svc/echo`, { headers })).status, 200);
        }
        const seen = servers.api.received.length;
        const hanging = status(`${proxy.url}/svc/hang`, headers, agent);
        await eventually(() => servers.api.received.length > seen, 10_000);
        proxy.child.kill('SIGTERM');
        // Served until the first signal is handled, refused after: every 200 is metered.
        let served = 3;
        await eventually(async () => {
          const ready = await fetch(`${proxy.url}/svc/echo`, { headers }).catch(() => undefined);
          if (ready?.status === 200) served++;
          return ready === undefined || ready.status !== 200;
        }, 10_000);
        proxy.child.kill('SIGTERM');
        assert.equal(await proxy.exited, 1);
        assert.equal(await hanging, 0, 'the exchange under way was cut');
        // The cut exchange is metered as one a client left (a call: 1), if its commit made it.
        const pending = (await store.getUsage('key'))?.pending ?? 0;
        assert.ok(pending === served || pending === served + 1, `${pending} for ${served} served`);
      } finally {
        agent.destroy();
        await proxy.stop();
        await store.close();
      }
    });
  });
}

describe('secrets in logs', () => {
  const [sqlite] = storeBackends();
  test('tokens, API keys and the marketplace token never appear in the logs, at any level', async () => {
    const idm = await startFakeIdm();
    const api = await startFakeBackend();
    idm.users.set('secret-token-alice', keyrockUser('alice', 'app-1'));
    idm.users.set('secret-token-root', keyrockUser('root', 'app-1'));
    const database = sqlite?.database() ?? assert.fail();
    const store = await openStore(database);
    await store.addService({
      publicPath: '/svc',
      url: api.url,
      appId: 'app-1',
      methods: ['GET'],
      isContextBroker: false,
    });
    await store.addAdmin('root');
    await store.bindAdmin('root', '/svc');
    await store.addBuy({
      apiKey: 'secret-api-key-1',
      publicPath: '/svc',
      orderId: 'o',
      productId: 'p',
      customer: 'alice',
      unit: 'call',
      recordType: 'callusage',
    });
    await store.close();
    const proxy = await startProxyProcess({
      ...databaseEnv(database),
      ACCOUNTING_PROXY_IDM_URL: idm.url,
      ACCOUNTING_PROXY_LOG_LEVEL: 'trace',
    });
    try {
      const tries: [string, Record<string, string>][] = [
        ['/svc/echo', { 'x-auth-token': 'secret-token-alice', 'x-api-key': 'secret-api-key-1' }],
        [
          '/svc/echo',
          { authorization: 'Bearer secret-token-alice', 'x-api-key': 'secret-api-key-wrong' },
        ],
        ['/svc/echo', { 'x-auth-token': 'secret-token-unknown' }],
        ['/svc/echo', { authorization: 'Basic secret-basic-credential' }],
        ['/svc/reset', { 'x-auth-token': 'secret-token-alice', 'x-api-key': 'secret-api-key-1' }],
        ['/accounting_proxy/keys', { 'x-auth-token': 'secret-token-alice' }],
      ];
      for (const [path, headers] of tries) await request(`${proxy.url}${path}`, { headers });
      await request(`${proxy.url}/accounting_proxy/urls`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: 'bearer secret-token-root',
          'x-api-key': 'secret-marketplace-token',
        },
        body: JSON.stringify({ url: `${proxy.url}/svc` }),
      });
      await proxy.stop();
      const output = proxy.output();
      assert.ok(output.length > 0, 'the proxy logged something');
      for (const secret of [
        'secret-token',
        'secret-api-key',
        'secret-marketplace-token',
        'secret-basic-credential',
      ]) {
        assert.ok(!output.includes(secret), `${secret} appears in the logs`);
      }
    } finally {
      await proxy.stop();
      await Promise.all([idm.close(), api.close()]);
    }
  });
});
