/**
 * The proxy as its own process, as `npm start` runs it: a 100 MB body byte for byte in bounded
 * memory and CLI changes picked up live (kill -9 under load is in test/faults).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { type Agent, request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { type FakeBackend, sha256OfServedBytes, startFakeBackend } from '../support/backend.ts';
import { eventually, request } from '../support/client.ts';
import { type FakeIdm, keyrockUser, startFakeIdm } from '../support/idm.ts';
import { databaseEnv, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';

const CLI = fileURLToPath(new URL('../../cli/cli', import.meta.url));
const MB = 1024 * 1024;

/** Streams a response, hashing it, and reports how it ended. */
function download(url: string, headers: Record<string, string>, agent?: Agent) {
  return new Promise<{ status: number; bytes: number; sha256: string }>((resolve, reject) => {
    const { hostname, port, pathname } = new URL(url);
    const req = httpRequest({ hostname, port, path: pathname, headers, agent }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('aborted')));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

for (const backend of storeBackends()) {
  describe(`proxy process on ${backend.name}`, () => {
    let idm: FakeIdm;
    let api: FakeBackend;
    before(async () => {
      idm = await startFakeIdm();
      api = await startFakeBackend();
      idm.users.set('alice-token', keyrockUser('alice', 'app-1'));
      idm.users.set('root-token', keyrockUser('root', 'app-1'));
    });
    after(async () => {
      await Promise.all([idm.close(), api.close()]);
    });

    async function seededStore(
      unit: string,
    ): Promise<{ store: Store; env: Record<string, string> }> {
      const database = backend.database();
      const store = await seedOneBuy(database, api.url, unit);
      return { store, env: { ...databaseEnv(database), ACCOUNTING_PROXY_IDM_URL: idm.url } };
    }

    test('streams a 100 MB binary body exactly, under 150 MB of RSS, metering exactly 100 megabytes', async (t) => {
      const { store, env } = await seededStore('megabyte');
      const proxy = await startProxyProcess(env);
      let peak = proxy.rss();
      t.diagnostic(`start RSS ${(peak / MB).toFixed(1)}`);
      const sampler = setInterval(() => {
        peak = Math.max(peak, proxy.rss());
      }, 25);
      try {
        const result = await download(`${proxy.url}/svc/bytes/${100 * MB}`, {
          'x-auth-token': 'alice-token',
          'x-api-key': 'key',
        });
        assert.equal(result.status, 200);
        assert.equal(result.bytes, 100 * MB);
        assert.equal(result.sha256, sha256OfServedBytes(100 * MB));
        assert.equal((await store.getUsage('key'))?.pending, 100);
        t.diagnostic(`peak RSS of the proxy: ${(peak / MB).toFixed(1)} MB`);
        assert.ok(peak < 150 * MB, `peak RSS ${(peak / MB).toFixed(1)} MB`);
      } finally {
        clearInterval(sampler);
        await proxy.stop();
        await store.close();
      }
    });

    test("a request sent right after a CLI change (or another process's newBuy) returned is decided by the new state", async () => {
      const database = backend.database();
      const env = { ...databaseEnv(database), ACCOUNTING_PROXY_IDM_URL: idm.url };
      const proxy = await startProxyProcess(env);
      const cli = (...argv: string[]) =>
        promisify(execFile)(CLI, argv, { env: { ...process.env, ...env } });
      const other = await openStore(database);
      const get = (path: string, headers: Record<string, string>) =>
        request(`${proxy.url}${path}`, { headers });
      try {
        // The replayed provisioning script: no pause between a command and the next request.
        await cli('addAdmin', 'root');
        assert.equal((await get('/live/echo', { 'x-auth-token': 'root-token' })).status, 401);
        await cli('addService', '/live', api.url, 'app-1', 'GET');
        await cli('bindAdmin', 'root', '/live');
        assert.equal((await get('/live/echo', { 'x-auth-token': 'root-token' })).status, 200);

        const alice = { 'x-auth-token': 'alice-token', 'x-api-key': 'live-key' };
        assert.equal((await get('/live/echo', alice)).status, 401);
        await other.addBuy({
          apiKey: 'live-key',
          publicPath: '/live',
          orderId: 'o-1',
          productId: 'p-1',
          customer: 'alice',
          unit: 'call',
          recordType: 'callusage',
        });
        assert.equal((await get('/live/echo', alice)).status, 200);
        // Revocation is not a refusal the proxy rechecks: it is seen by notification or poll.
        await other.revokeBuy('live-key');
        await eventually(async () => (await get('/live/echo', alice)).status === 401, 1000);

        await cli('addService', '--force', '/live', api.url, 'app-1', 'GET', 'POST');
        const post = await request(`${proxy.url}/live/echo`, {
          method: 'POST',
          headers: { 'x-auth-token': 'root-token' },
          body: '{}',
        });
        assert.equal(post.status, 200);
      } finally {
        await other.close();
        await proxy.stop();
      }
    });
  });
}
