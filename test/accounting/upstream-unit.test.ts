/**
 * The `upstream` unit through the proxy on both stores: the amount a backend reports in a header or
 * a trailer is billed, the header never reaches the client, and bad values are faults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadAccountingModules, MODULES_DIR } from '../../src/accounting/load-modules.ts';
import { request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { listenOnLoopback, type TestServer } from '../support/http-server.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

const backends = storeBackends();
for (const backend of backends) {
  describe(`the upstream unit on ${backend.name}`, () => {
    let service: TestServer;
    let f: ProxyFixture;
    const headers = { 'x-auth-token': 'alice-token', 'x-api-key': 'key-up' };
    const pending = async () =>
      (await f.store.listUsage()).find((buy) => buy.apiKey === 'key-up')?.pending ?? 0;

    before(async () => {
      // /header/<v>: the amount in a header; /trailer/<v>: in a trailer after a chunked body.
      service = await listenOnLoopback((req, res) => {
        const [, kind, value = ''] = (req.url ?? '').split('/');
        if (kind === 'header') {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-cost': decodeURIComponent(value) });
          res.end('done');
          return;
        }
        if (kind === 'trailer') {
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'X-Cost' });
          res.write('part one, ');
          res.write('part two');
          res.addTrailers({ 'x-cost': value });
          res.end();
          return;
        }
        res.writeHead(200).end('no amount');
      });
      const units = ['call', 'megabyte', 'millisecond', 'upstream'];
      const modules = await loadAccountingModules(
        units,
        MODULES_DIR,
        {},
        { upstreamHeader: 'x-cost' },
      );
      f = await startProxyFixture(
        backend.database(),
        {
          ACCOUNTING_PROXY_MODULES: units.join(','),
          ACCOUNTING_PROXY_UPSTREAM_HEADER: 'X-Cost',
          ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
        },
        { modules },
      );
      await f.store.addService({
        publicPath: '/up',
        url: service.url,
        appId: APP_ID,
        methods: ['GET'],
        isContextBroker: false,
      });
      await f.store.addBuy({
        ...{ apiKey: 'key-up', publicPath: '/up', orderId: 'o-up', productId: 'p-up' },
        ...{ customer: 'alice', unit: 'upstream', recordType: 'upstreamusage' },
      });
      await f.proxy.routing.refresh();
    });
    after(async () => {
      await f.close();
      await service.close();
    });

    test('bills the header and the trailer, and the client never sees the header', async () => {
      const fromHeader = await request(`${f.url}/up/header/2.5`, { headers });
      assert.equal(fromHeader.status, 200);
      assert.equal(fromHeader.body.toString(), 'done');
      assert.equal(fromHeader.headers['x-cost'], undefined);
      assert.equal(await pending(), 2.5);
      const fromTrailer = await request(`${f.url}/up/trailer/4`, { headers });
      assert.equal(fromTrailer.body.toString(), 'part one, part two');
      assert.equal(await pending(), 6.5);
    });

    test('an amount missing, not a number, negative or over the cap bills nothing, as a fault', async () => {
      for (const path of [
        '/up/none',
        '/up/header/abc',
        '/up/header/-3',
        '/up/header/1e12',
        '/up/header/NaN',
      ]) {
        const answer = await request(`${f.url}${path}`, { headers });
        assert.equal(answer.status, 200, path);
      }
      assert.equal(await pending(), 6.5);
      const metrics = (await f.proxy.metrics?.text()) ?? '';
      assert.match(metrics, /meter_faults_total\{unit="upstream",reason="no_amount"\} 1/);
      assert.match(metrics, /meter_faults_total\{unit="upstream",reason="invalid_amount"\} 3/);
      assert.match(metrics, /meter_faults_total\{unit="upstream",reason="over_cap"\} 1/);
    });
  });
}
