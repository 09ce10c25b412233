/**
 * Modules written for the original FIWARE Accounting Proxy, loaded unchanged (CommonJS,
 * `count(countInfo, callback)`, `getSpecification()`), on both stores: they meter exactly through
 * the proxy path with the bodies the original gave them, their usage goes to the BAE with the
 * specification they declare, and their faults never cost the client its answer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAccountingModules, MODULES_DIR } from '../../src/accounting/load-modules.ts';
import { isProxyError } from '../../src/errors.ts';
import { request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { listenOnLoopback, type TestServer } from '../support/http-server.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

const spec = (name: string) => `{
    name: '${name}',
    description: 'Spec for ${name}',
    usageSpecCharacteristic: [],
  }`;

/** Modules as a provider wrote them for the original: plain CommonJS, callbacks. */
const LEGACY: Record<string, string> = {
  // Counts the entities of a JSON answer; its helper is required from its own folder.
  entities: `'use strict';
const helper = require('./lib/count-helper');
exports.count = function (countInfo, callback) {
  var body = typeof countInfo.response.body === 'string'
    ? JSON.parse(countInfo.response.body) : countInfo.response.body;
  return callback(null, helper.lengthOf(body));
};
exports.getSpecification = function () { return ${spec('entities')}; };
`,
  // Bills the items a JSON request body submits (parsed for it, as the original did).
  items: `'use strict';
module.exports = {
  count: function (countInfo, callback) {
    if (countInfo.request.method !== 'POST') return callback(null, 0);
    callback(null, countInfo.request.body.items.length);
  },
  getSpecification: function () { return ${spec('items')}; },
};
`,
  throws: `exports.count = function () { throw new Error('module bug'); };
exports.getSpecification = function () { return ${spec('throws')}; };`,
  twice: `exports.count = function (countInfo, callback) { callback(null, 3); callback(null, 5); };
exports.getSpecification = function () { return ${spec('twice')}; };`,
  silent: `exports.count = function () {};
exports.getSpecification = function () { return ${spec('silent')}; };`,
  nan: `exports.count = function (c, callback) { callback(null, NaN); };
exports.getSpecification = function () { return ${spec('nan')}; };`,
  negative: `exports.count = function (c, callback) { callback(null, -2); };
exports.getSpecification = function () { return ${spec('negative')}; };`,
  text: `exports.count = function (c, callback) { callback(null, '12'); };
exports.getSpecification = function () { return ${spec('text')}; };`,
  failing: `exports.count = function (c, callback) { callback(new Error('cannot count')); };
exports.getSpecification = function () { return ${spec('failing')}; };`,
};
const FAULTS: Record<string, string> = {
  throws: 'threw',
  silent: 'timeout',
  nan: 'invalid_amount',
  negative: 'invalid_amount',
  text: 'invalid_amount',
  failing: 'callback_error',
};

const dir = mkdtempSync(join(tmpdir(), 'ap-legacy-'));
mkdirSync(join(dir, 'lib'));
writeFileSync(
  join(dir, 'lib', 'count-helper.js'),
  'exports.lengthOf = function (body) { return Array.isArray(body) ? body.length : 0; };\n',
);
for (const [unit, source] of Object.entries(LEGACY)) writeFileSync(join(dir, `${unit}.js`), source);
after(() => rmSync(dir, { recursive: true, force: true }));

const units = ['call', 'megabyte', 'millisecond', ...Object.keys(LEGACY)];
const load = () =>
  loadAccountingModules(units, MODULES_DIR, { dir, bodyLimit: 4096, timeoutMs: 50 });

test('a module of the original must export count and getSpecification', async () => {
  writeFileSync(join(dir, 'broken.js'), 'exports.count = function () {};');
  await assert.rejects(
    loadAccountingModules(['broken'], MODULES_DIR, { dir }),
    (error) =>
      isProxyError(error, 'MODULE_INVALID') && /count\(countInfo, callback\)/.test(error.message),
  );
  writeFileSync(join(dir, 'syntax.js'), 'exports.count = function ( {');
  await assert.rejects(loadAccountingModules(['syntax'], MODULES_DIR, { dir }), (error) =>
    isProxyError(error, 'MODULE_LOAD_FAILED'),
  );
});

const backends = storeBackends();
for (const backend of backends) {
  describe(`modules of the original proxy on ${backend.name}`, () => {
    let orion: TestServer;
    let usage: FakeUsageApi;
    let f: ProxyFixture;
    const headers = (unit: string) => ({
      'x-auth-token': 'alice-token',
      'x-api-key': `key-${unit}`,
    });
    const pending = async (unit: string) =>
      (await f.store.listUsage()).find((buy) => buy.apiKey === `key-${unit}`)?.pending ?? 0;

    before(async () => {
      orion = await listenOnLoopback((req, res) => {
        const limit = Number(new URL(req.url ?? '/', 'http://o').searchParams.get('limit') ?? 2);
        const entities = Array.from({ length: limit }, (_, i) => ({
          id: `urn:Room:${i}`,
          type: 'Room',
        }));
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(entities));
        });
      });
      usage = new FakeUsageApi('committed-key-0001', { mode: 'bae-7.8.0' });
      await usage.start();
      f = await startProxyFixture(
        backend.database(),
        {
          ACCOUNTING_PROXY_MODULES: units.join(','),
          ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
          ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
          ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
        },
        { modules: await load() },
      );
      await f.store.addService({
        publicPath: '/orion',
        url: orion.url,
        appId: APP_ID,
        methods: ['GET', 'POST'],
        isContextBroker: false,
      });
      for (const unit of Object.keys(LEGACY)) {
        await f.store.addBuy({
          ...{ apiKey: `key-${unit}`, publicPath: '/orion', orderId: `o-${unit}` },
          ...{ productId: `p-${unit}`, customer: 'alice', unit, recordType: `${unit}usage` },
        });
      }
      await f.proxy.routing.refresh();
    });
    after(async () => {
      await f.close();
      await Promise.all([orion.close(), usage.stop()]);
    });

    test('meter exactly from the bodies, and are reported with their own specification', async () => {
      for (const limit of [3, 0, 7]) {
        const answer = await request(`${f.url}/orion/v2/entities?limit=${limit}`, {
          headers: headers('entities'),
        });
        assert.equal(answer.status, 200);
      }
      assert.equal(await pending('entities'), 10);
      const post = await request(`${f.url}/orion/v2/op/update`, {
        method: 'POST',
        headers: { ...headers('items'), 'content-type': 'application/json' },
        body: JSON.stringify({ items: ['a', 'b', 'c', 'd'] }),
      });
      assert.equal(post.status, 200);
      assert.equal(await pending('items'), 4);

      usage.contract('o-entities', 'p-entities', 'alice', ['entities']);
      usage.contract('o-items', 'p-items', 'alice', ['items']);
      await f.store.addMarketplaceKey(usage.token, new Date());
      await f.proxy.usage.runNow();
      assert.deepEqual(usage.accepted('o-entities', 'p-entities').sum, 10);
      assert.deepEqual(usage.accepted('o-items', 'p-items').sum, 4);
      const names = usage.specifications.map((s) => s.name);
      assert.ok(names.includes('entities') && names.includes('items'), names.join());
    });

    test('a body over the limit is not counted from half of it: fault overflow', async () => {
      const answer = await request(`${f.url}/orion/v2/entities?limit=500`, {
        headers: headers('entities'),
      });
      assert.equal(answer.status, 200);
      assert.equal(JSON.parse(answer.body.toString()).length, 500);
      assert.equal(await pending('entities'), 0);
      const metrics = (await f.proxy.metrics?.text()) ?? '';
      assert.match(metrics, /meter_faults_total\{unit="entities",reason="overflow"\} 1/);
    });

    test('faulty modules leave the answer intact and the proxy serving; a second callback is ignored', async () => {
      for (const unit of ['twice', ...Object.keys(FAULTS)]) {
        const answer = await request(`${f.url}/orion/v2/entities?limit=2`, {
          headers: headers(unit),
        });
        assert.equal(answer.status, 200, unit);
        assert.equal(JSON.parse(answer.body.toString()).length, 2, unit);
      }
      assert.equal(await pending('twice'), 3);
      for (const unit of Object.keys(FAULTS)) assert.equal(await pending(unit), 0, unit);
      const metrics = (await f.proxy.metrics?.text()) ?? '';
      for (const [unit, reason] of Object.entries(FAULTS)) {
        assert.match(
          metrics,
          new RegExp(`meter_faults_total\\{unit="${unit}",reason="${reason}"\\} 1`),
          unit,
        );
      }
      const again = await request(`${f.url}/orion/v2/entities?limit=1`, {
        headers: headers('entities'),
      });
      assert.equal(again.status, 200);
    });
  });
}

describe('a module of the original under npm start', () => {
  const [sqlite] = backends;
  test('runs from acc_modules/ at the root of the repository, with no build of its own', async () => {
    const { randomUUID } = await import('node:crypto');
    const { unlinkSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const { startFakeBackend } = await import('../support/backend.ts');
    const { startFakeIdm, keyrockUser } = await import('../support/idm.ts');
    const { databaseEnv, startProxyProcess } = await import('../support/proxy-process.ts');
    const { seedOneBuy } = await import('../support/seed.ts');
    // A name of its own: the file sits in the repository's acc_modules/ while the test runs.
    const unit = `legacy${randomUUID().slice(0, 8)}`;
    const root = fileURLToPath(new URL('../../acc_modules/', import.meta.url));
    writeFileSync(
      join(root, `${unit}.js`),
      `exports.count = function (countInfo, callback) {
  callback(null, countInfo.response.body.length);
};
exports.getSpecification = function () { return { name: '${unit}', description: 'x' }; };
`,
    );
    const backend = await startFakeBackend();
    const idm = await startFakeIdm();
    idm.users.set('alice-token', keyrockUser('alice', 'app-1'));
    const database = sqlite?.database() ?? assert.fail('no SQLite');
    const store = await seedOneBuy(database, backend.url, unit);
    const proxy = await startProxyProcess({
      ...databaseEnv(database),
      ACCOUNTING_PROXY_IDM_URL: idm.url,
      ACCOUNTING_PROXY_MODULES: `call,${unit}`,
    });
    try {
      const headers = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };
      const answer = await request(`${proxy.url}/svc/echo/legacy`, { headers });
      assert.equal(answer.status, 200);
      // The JSON answer is ASCII: its length as text is its length in bytes.
      assert.ok(answer.body.length > 100);
      assert.equal((await store.getUsage('key'))?.pending, answer.body.length);
    } finally {
      await proxy.stop();
      await store.close();
      await Promise.all([backend.close(), idm.close()]);
      unlinkSync(join(root, `${unit}.js`));
    }
  });
});
