/**
 * tmf4 mode: the products of the TMF v4 marketplace's inventory are purchases, learnt from its
 * events and by reconciling, on both stores, against the TMF stand-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { listenOnLoopback, type TestServer } from '../support/http-server.ts';
import { keyrockUser } from '../support/idm.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeTmf } from '../support/tmf/fake-tmf.ts';
import { OFFERING, product, seedMarketplace, tmf4Env } from '../support/tmf/marketplace-seed.ts';

/** Carol acts for ACME: Keyrock names the organization by the id the party's key gives. */
const addCarol = (f: ProxyFixture) =>
  f.idm.users.set('carol-token', {
    ...keyrockUser('carol', APP_ID),
    organizations: [{ id: 'acme-idm', name: 'ACME', roles: [] }],
  });

const backends = storeBackends();
for (const backend of backends) {
  for (const events of [true, false]) {
    describe(`tmf4 purchases on ${backend.name}, ${events ? 'by events' : 'events dropped: by reconciling'}`, () => {
      let tmf: FakeTmf;
      let f: ProxyFixture;
      // A customer of acme's: Keyrock names the organization by the id the party's key gives.
      const carol = { 'x-auth-token': 'carol-token' };
      // Calls carol was served: each one metered on her purchase.
      let served = 0;
      const call = async (headers: Record<string, string> = carol) => {
        const answer = await request(`${f.url}/svc/echo/forecast`, { headers });
        if (answer.status === 200 && headers['x-auth-token'] === 'carol-token') served++;
        return answer;
      };
      before(async () => {
        tmf = await new FakeTmf().start();
        tmf.deliverEvents = events;
        seedMarketplace(tmf);
        const port = await freePort();
        f = await startProxyFixture(backend.database(), {
          ...tmf4Env(tmf, port),
          // Events must do it within a second; without them, one interval of this length.
          ACCOUNTING_PROXY_TMF_RECONCILE: events ? '3600000' : '300',
        });
        addCarol(f);
        f.idm.users.set('dave-token', keyrockUser('dave', APP_ID));
        await f.store.setServiceCatalog('/svc', { offerings: [OFFERING], productSpecs: [] });
        await f.proxy.routing.refresh();
        if (events) await eventually(() => tmf.hubs.length === 1);
      });
      after(async () => {
        await f.close();
        await tmf.stop();
      });

      const within = events ? 1000 : 5000;

      test('an active product is served to its customer, without an API key, and listed by GET keys', async () => {
        assert.equal((await call()).status, 401);
        tmf.putProduct(product('urn:ngsi-ld:product:p1', 'created'));
        tmf.putProduct(product('urn:ngsi-ld:product:p1', 'active'));
        await eventually(async () => (await call()).status === 200, within);
        const keys = await request(`${f.url}/accounting_proxy/keys`, { headers: carol });
        const [buy] = keys.json<{ apiKey: string; productId: string }[]>();
        assert.equal(buy?.productId, 'urn:ngsi-ld:product:p1');
        assert.equal((await call({ ...carol, 'x-api-key': buy?.apiKey ?? '' })).status, 200);
        // Somebody else is no customer of it, with or without its key.
        const dave = { 'x-auth-token': 'dave-token' };
        assert.equal((await call(dave)).status, 401);
        assert.equal((await call({ ...dave, 'x-api-key': buy?.apiKey ?? '' })).status, 401);
        const [stored] = (await f.store.listBuys()).filter((b) => b.terms);
        assert.deepEqual(stored?.terms?.customerKeys.includes('VATES-B12341234'), true);
        assert.equal(stored?.unit, 'call');
        assert.equal(stored?.terms?.unitName, 'api call');
      });

      test('a suspended product is refused, and its usage pushed at once', async () => {
        const metered = (await f.store.listUsage()).find(
          (b) => b.productId === 'urn:ngsi-ld:product:p1',
        );
        assert.ok((metered?.pending ?? 0) > 0, 'the calls were metered');
        tmf.putProduct(product('urn:ngsi-ld:product:p1', 'suspended'));
        await eventually(async () => (await call()).status === 401, within);
        // The usage window still open goes out now, not when it closes.
        const reported = () =>
          tmf.usages
            .filter((u) => JSON.stringify(u.ratedProductUsage).includes('urn:ngsi-ld:product:p1'))
            .reduce(
              (sum, u) => sum + Number((u.usageCharacteristic as { value: number }[])[0]?.value),
              0,
            );
        await eventually(() => reported() === served, 5000);
        assert.deepEqual(tmf.invalid, []);
      });

      test('a product of no service, or without a usage price, is ignored and nothing is served', async () => {
        tmf.putProduct({
          ...product('urn:ngsi-ld:product:p2', 'active'),
          productOffering: { id: 'other' },
        });
        tmf.putProduct({ ...product('urn:ngsi-ld:product:p3', 'active'), productPrice: [] });
        await f.proxy.marketplace?.reconcileNow();
        assert.deepEqual(
          (await f.store.listBuys()).filter((b) => b.terms).map((b) => b.productId),
          [],
        );
        assert.equal((await call()).status, 401);
      });
    });
  }
}

describe('tmf4 event listener, authentication and a marketplace down at start', () => {
  let tmf: FakeTmf;
  let f: ProxyFixture;
  let tokenServer: TestServer;
  const tokenRequests: string[] = [];
  before(async () => {
    tmf = await new FakeTmf({ token: 'machine-token' }).start();
    seedMarketplace(tmf);
    tmf.inventoryDown = true;
    tokenServer = await listenOnLoopback((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        tokenRequests.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'machine-token', expires_in: 300 }));
      });
    });
    const port = await freePort();
    f = await startProxyFixture(backends[0]?.database() ?? assert.fail('no SQLite'), {
      ...tmf4Env(tmf, port),
      ACCOUNTING_PROXY_TMF_RECONCILE: '3600000',
      ACCOUNTING_PROXY_TMF_TOKEN_URL: `${tokenServer.url}/token`,
      ACCOUNTING_PROXY_TMF_CLIENT_ID: 'proxy',
      ACCOUNTING_PROXY_TMF_CLIENT_SECRET: 'client-secret',
    });
    addCarol(f);
    await f.store.setServiceCatalog('/svc', { offerings: [OFFERING], productSpecs: [] });
  });
  after(async () => {
    await f.close();
    await tmf.stop();
    await tokenServer.close();
  });

  test('the proxy serves while the inventory is down, and learns the products once it is back', async () => {
    assert.equal((await request(`${f.url}/svc/echo/x`, { headers: f.buyer() })).status, 200);
    tmf.putProduct(product('urn:ngsi-ld:product:p9', 'active'), { silently: true });
    tmf.inventoryDown = false;
    await f.proxy.marketplace?.reconcileNow();
    const carol = { 'x-auth-token': 'carol-token' };
    assert.equal((await request(`${f.url}/svc/echo/x`, { headers: carol })).status, 200);
    // One OAuth2 client-credentials token for every call, the secret in the body only.
    assert.equal(tokenRequests.length, 1);
    assert.match(
      tokenRequests[0] ?? '',
      /grant_type=client_credentials&client_id=proxy&client_secret=client-secret/,
    );
    assert.equal(tmf.hubs.length, 1);
  });

  test('events come to the secret path and its /listener/<event> form; any other path under it is 404', async () => {
    const [hub] = tmf.hubs;
    const callback = hub?.callback ?? assert.fail('not subscribed');
    assert.match(callback, /^http:\/\/127\.0\.0\.1:\d+\/accounting_proxy\/tmf\/[\w-]{43}$/);
    const event = JSON.stringify({
      eventType: 'ProductCreateEvent',
      event: { product: { id: 'urn:x' } },
    });
    const post = (url: string) =>
      request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: event,
      });
    assert.equal((await post(callback)).status, 204);
    assert.equal((await post(`${callback}/listener/productCreateEvent`)).status, 204);
    for (const wrong of [
      `${f.url}/accounting_proxy/tmf/guess`,
      `${f.url}/accounting_proxy/tmf/`,
      `${callback}x`,
      `${callback}/other`,
      `${callback}/listener/a/b`,
    ]) {
      const answer = await post(wrong);
      assert.equal(answer.status, 404, wrong);
      assert.deepEqual(answer.json(), { error: 'Not found' });
    }
    assert.equal((await request(callback)).status, 405);
    // Larger than any product event: refused with a JSON error, the proxy unharmed.
    const huge = await request(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    assert.equal(huge.status, 413);
    assert.match(huge.json<{ error: string }>().error, /^Request body larger than/);
    assert.equal((await post(callback)).status, 204);
  });
});
