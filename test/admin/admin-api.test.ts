/**
 * The marketplace's calls, replayed as its Accountable Service plug-in makes them (paths, headers,
 * lower-case `bearer`, bodies), against the real server on both stores.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type ClientResponse, request } from '../support/client.ts';
import { API_KEYS, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

const json = { 'content-type': 'application/json' };

/** A request from another loopback address than 127.0.0.1. */
function requestFrom(localAddress: string, url: string, body: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const { hostname, port, pathname } = new URL(url);
    const req = httpRequest(
      {
        hostname,
        port,
        path: pathname,
        method: 'POST',
        localAddress,
        headers: { ...json, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const backends = storeBackends();
for (const backend of backends) {
  describe(`admin API on ${backend.name}`, () => {
    let f: ProxyFixture;
    before(async () => {
      f = await startProxyFixture(backend.database());
    });
    after(() => f.close());

    const admin = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
      request(`${f.url}/accounting_proxy/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? headers : { ...json, ...headers },
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    const assetUrl = () => `${f.url}/svc/v1`;
    const purchase = (overrides: Record<string, unknown> = {}) => ({
      productId: 'product-9',
      orderId: 'order-9',
      customer: 'alice',
      productSpecification: { url: assetUrl(), unit: 'call', recordType: 'callusage' },
      ...overrides,
    });

    test('the marketplace flow: urls 200, units 200, newBuy 201, keys lists a working key, deleteBuy 204', async () => {
      const checked = await admin(
        'urls',
        { url: assetUrl() },
        { 'X-API-KEY': 'marketplace-token', Authorization: 'bearer root-token' },
      );
      assert.equal(checked.status, 200);
      assert.equal((await f.store.listMarketplaceKeys())[0]?.key, 'marketplace-token');

      const units = await admin('units');
      assert.equal(units.status, 200);
      assert.deepEqual(units.json(), { units: ['call', 'megabyte', 'millisecond'] });

      const bought = await admin('newBuy', purchase());
      assert.equal(bought.status, 201);
      const apiKey = bought.json<{ 'API-KEY': string }>()['API-KEY'];
      assert.match(apiKey, /^[0-9a-f]{32}$/);

      const keys = await request(`${f.url}/accounting_proxy/keys`, {
        headers: { authorization: 'Bearer alice-token' },
      });
      assert.equal(keys.status, 200);
      const mine =
        keys.json<{ apiKey: string; orderId: string; productId: string; url: string }[]>();
      const listed = mine.find((k) => k.apiKey === apiKey);
      assert.deepEqual(listed, {
        apiKey,
        orderId: 'order-9',
        productId: 'product-9',
        url: `${f.url}/svc`,
      });
      const used = await request(`${listed?.url}/echo`, {
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': apiKey },
      });
      assert.equal(used.status, 200);
      assert.equal((await f.store.getUsage(apiKey))?.pending, 1);

      const { productSpecification: _unused, ...identity } = purchase();
      const deleted = await admin('deleteBuy', {
        ...identity,
        productSpecification: { url: assetUrl() },
      });
      assert.equal(deleted.status, 204);
      assert.equal(deleted.body.length, 0);
      const refused = await request(`${f.url}/svc/echo`, {
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': apiKey },
      });
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.json(), { error: 'Invalid API key' });
      // the usage of the ended buy waits for the usage report instead of vanishing
      assert.equal((await f.store.getUsage(apiKey))?.pending, 1);

      const again = await admin('deleteBuy', {
        ...identity,
        productSpecification: { url: assetUrl() },
      });
      assert.equal(again.status, 204);
    });

    test('a repeated newBuy returns the same key and keeps the usage', async () => {
      const first = await admin('newBuy', purchase({ orderId: 'order-r' }));
      const apiKey = first.json<{ 'API-KEY': string }>()['API-KEY'];
      await f.store.addUsage([{ apiKey, amount: 3 }]);
      const second = await admin('newBuy', purchase({ orderId: 'order-r' }));
      assert.equal(second.status, 201);
      assert.deepEqual(second.json(), { 'API-KEY': apiKey });
      assert.equal((await f.store.getUsage(apiKey))?.pending, 3);
      const changed = await admin(
        'newBuy',
        purchase({
          orderId: 'order-r',
          productSpecification: { url: assetUrl(), unit: 'megabyte', recordType: 'datausage' },
        }),
      );
      assert.equal(changed.status, 422);
      assert.match(changed.json<{ error: string }>().error, /unit of this buy cannot change/);
    });

    test('urls refuses a seller who does not administer the service', async () => {
      const res = await admin('urls', { url: assetUrl() }, { Authorization: 'bearer alice-token' });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json(), {
        error: 'Access restricted to administrators of the service only',
      });
      const unknown = await admin(
        'urls',
        { url: `${f.url}/nothing/here` },
        { Authorization: 'bearer root-token' },
      );
      assert.equal(unknown.status, 401);
    });

    test('keys lists nothing for a user without buys', async () => {
      const res = await request(`${f.url}/accounting_proxy/keys`, {
        headers: { 'x-auth-token': 'root-token' },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), []);
    });

    test('a peer outside the trusted addresses cannot create or delete buys', async () => {
      for (const path of ['newBuy', 'deleteBuy', 'urls']) {
        const res = await requestFrom(
          '127.0.0.2',
          `${f.url}/accounting_proxy/${path}`,
          JSON.stringify(purchase({ orderId: 'order-x' })),
        );
        assert.equal(res.status, 403, path);
        assert.match(JSON.parse(res.body).error, /trusted addresses.*127\.0\.0\.2/);
      }
      assert.equal(
        await f.store.findBuy({
          orderId: 'order-x',
          productId: 'product-9',
          customer: 'alice',
          publicPath: '/svc',
        }),
        undefined,
      );
    });

    const malformed: {
      why: string;
      path: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      status: number;
      error: string | RegExp;
    }[] = [
      {
        why: 'no content type',
        path: 'newBuy',
        headers: {},
        body: '{}',
        status: 415,
        error: 'Content-Type must be "application/json"',
      },
      {
        why: 'a text body',
        path: 'newBuy',
        headers: { 'content-type': 'text/plain' },
        body: 'hi',
        status: 415,
        error: 'Content-Type must be "application/json"',
      },
      {
        why: 'an empty body',
        path: 'deleteBuy',
        headers: { ...json, 'content-length': '0' },
        status: 400,
        error: 'Invalid JSON',
      },
      {
        why: 'broken JSON',
        path: 'newBuy',
        body: '{"orderId":',
        status: 400,
        error: 'Invalid JSON',
      },
      {
        why: 'broken JSON on deleteBuy',
        path: 'deleteBuy',
        body: '[1,',
        status: 400,
        error: 'Invalid JSON',
      },
      {
        why: 'a body over 100 kB',
        path: 'newBuy',
        body: JSON.stringify({ orderId: 'x'.repeat(110_000) }),
        status: 413,
        error: 'Request body larger than 100 kB',
      },
      {
        why: 'a JSON string',
        path: 'newBuy',
        body: '"text"',
        status: 422,
        error: 'Invalid json: "value" must be an object',
      },
      {
        why: 'a JSON array',
        path: 'newBuy',
        body: '[]',
        status: 422,
        error: 'Invalid json: "value" must be an object',
      },
      {
        why: 'JSON null',
        path: 'deleteBuy',
        body: 'null',
        status: 422,
        error: 'Invalid json: "value" must be an object',
      },
      {
        why: 'a missing orderId',
        path: 'newBuy',
        body: '{"productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","unit":"call","recordType":"r"}}',
        status: 422,
        error: 'Invalid json: "orderId" is required',
      },
      {
        why: 'an empty orderId',
        path: 'newBuy',
        body: '{"orderId":"","productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","unit":"call","recordType":"r"}}',
        status: 422,
        error: 'Invalid json: "orderId" is not allowed to be empty',
      },
      {
        why: 'a numeric orderId',
        path: 'newBuy',
        body: '{"orderId":5,"productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","unit":"call","recordType":"r"}}',
        status: 422,
        error: 'Invalid json: "orderId" must be a string',
      },
      {
        why: 'a missing customer',
        path: 'deleteBuy',
        body: '{"orderId":"o","productId":"p","productSpecification":{"url":"http://x/svc"}}',
        status: 422,
        error: 'Invalid json: "customer" is required',
      },
      {
        why: 'an unknown field',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","extra":1,"productSpecification":{"url":"http://x/svc","unit":"call","recordType":"r"}}',
        status: 422,
        error: 'Invalid json: "extra" is not allowed',
      },
      {
        why: 'no productSpecification on newBuy',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c"}',
        status: 422,
        error: 'Invalid json: "productSpecification" is required',
      },
      {
        why: 'no productSpecification on deleteBuy',
        path: 'deleteBuy',
        body: '{"orderId":"o","productId":"p","customer":"c"}',
        status: 422,
        error: 'Invalid json: "productSpecification" is required',
      },
      {
        why: 'a productSpecification string',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":"x"}',
        status: 422,
        error: 'Invalid json: "productSpecification" must be an object',
      },
      {
        why: 'a missing url',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"unit":"call","recordType":"r"}}',
        status: 422,
        error: 'Invalid json: "url" is required',
      },
      {
        why: 'an unknown unit',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","unit":"byte","recordType":"r"}}',
        status: 422,
        error: 'Invalid json: "unit" must be one of [call, megabyte, millisecond]',
      },
      {
        why: 'a null unit',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","unit":null,"recordType":"r"}}',
        status: 422,
        error: 'Invalid json: "unit" must be one of [call, megabyte, millisecond]',
      },
      {
        why: 'a missing unit',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","recordType":"r"}}',
        status: 422,
        error: /^Invalid json: "unit" /,
      },
      {
        why: 'a missing recordType',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","unit":"call"}}',
        status: 422,
        error: 'Invalid json: "recordType" is required',
      },
      {
        why: 'a unit on deleteBuy',
        path: 'deleteBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"url":"http://x/svc","unit":"call"}}',
        status: 422,
        error: 'Invalid json: "unit" is not allowed',
      },
      {
        why: 'a URL that is not a URL',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"url":"not a url","unit":"call","recordType":"r"}}',
        status: 422,
        error: /^Invalid URL "not a url"/,
      },
      {
        why: 'a URL of no service',
        path: 'newBuy',
        body: '{"orderId":"o","productId":"p","customer":"c","productSpecification":{"url":"http://proxy/nowhere/x","unit":"call","recordType":"r"}}',
        status: 422,
        error: 'No service is registered for the path "/nowhere/x"',
      },
      {
        why: 'urls without token',
        path: 'urls',
        body: '{"url":"http://x/svc"}',
        status: 401,
        error: 'Auth-token not found in request headers',
      },
      {
        why: 'urls with a basic token',
        path: 'urls',
        headers: { ...json, authorization: 'Basic eDp5' },
        body: '{"url":"http://x/svc"}',
        status: 401,
        error: 'Invalid Auth-Token type (basic)',
      },
      {
        why: 'urls with a bad token',
        path: 'urls',
        headers: { ...json, authorization: 'bearer nope' },
        body: '{"url":"http://x/svc"}',
        status: 401,
        error: 'Invalid Auth-Token',
      },
      {
        why: 'urls without url',
        path: 'urls',
        headers: { ...json, authorization: 'bearer root-token' },
        body: '{}',
        status: 422,
        error: 'Missing URL',
      },
      {
        why: 'urls with a numeric url',
        path: 'urls',
        headers: { ...json, authorization: 'bearer root-token' },
        body: '{"url":5}',
        status: 422,
        error: 'Invalid json: "url" must be a string',
      },
      {
        why: 'urls with an invalid url',
        path: 'urls',
        headers: { ...json, authorization: 'bearer root-token' },
        body: '{"url":"::"}',
        status: 422,
        error: /^Invalid URL "::"/,
      },
      {
        why: 'keys without token',
        path: 'keys',
        method: 'GET',
        headers: {},
        status: 401,
        error: 'Auth-token not found in request headers',
      },
      {
        why: 'GET on newBuy',
        path: 'newBuy',
        method: 'GET',
        headers: {},
        status: 405,
        error: 'Method not allowed here; use POST',
      },
      {
        why: 'DELETE on units',
        path: 'units',
        method: 'DELETE',
        headers: {},
        status: 405,
        error: 'Method not allowed here; use GET',
      },
      {
        why: 'deep nesting',
        path: 'newBuy',
        body: `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
        status: 422,
        error: 'Invalid json: "value" must be an object',
      },
      {
        why: 'deeply nested fields',
        path: 'newBuy',
        body: `{"orderId":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
        status: 422,
        error: /^Invalid json: /,
      },
      {
        why: 'a JSON charset it cannot read',
        path: 'newBuy',
        headers: { 'content-type': 'application/json; charset=klingon' },
        body: '{}',
        status: 415,
        error: 'Content-Type must be "application/json"',
      },
    ];

    test(`refuses ${malformed.length} malformed requests with a JSON 4xx, never a 5xx or HTML`, async () => {
      assert.ok(malformed.length >= 30);
      for (const m of malformed) {
        const res: ClientResponse = await request(`${f.url}/accounting_proxy/${m.path}`, {
          method: m.method ?? 'POST',
          headers: m.headers ?? json,
          ...(m.body === undefined ? {} : { body: m.body }),
        });
        assert.equal(res.status, m.status, `${m.why}: ${res.body.toString().slice(0, 200)}`);
        assert.match(String(res.headers['content-type']), /^application\/json/, m.why);
        const { error } = res.json<{ error: string }>();
        if (typeof m.error === 'string') assert.equal(error, m.error, m.why);
        else assert.match(error, m.error, m.why);
      }
    });

    test('the admin paths with other spellings stay on the proxy path', async () => {
      const res = await request(`${f.url}/accounting_proxy/units/extra`, {
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': API_KEYS.call },
      });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json(), {
        error: 'The auth-token scope is not valid for the current application',
      });
    });
  });
}

describe('admin API in the tmf4 marketplace mode', () => {
  let f: ProxyFixture;
  before(async () => {
    f = await startProxyFixture(backends[0]?.database() ?? assert.fail('no SQLite backend'), {
      ACCOUNTING_PROXY_MARKETPLACE: 'tmf4',
      ACCOUNTING_PROXY_TMF_URL: 'http://127.0.0.1:9',
      ACCOUNTING_PROXY_TMF_SELLER: 'urn:ngsi-ld:organization:provider',
    });
  });
  after(() => f.close());

  test('newBuy, deleteBuy and urls answer 404 saying purchases come from the product inventory; units stays', async () => {
    for (const path of ['newBuy', 'deleteBuy', 'urls']) {
      for (const method of ['POST', 'GET']) {
        const res = await request(`${f.url}/accounting_proxy/${path}`, {
          method,
          headers: {
            ...json,
            'X-API-KEY': 'marketplace-token',
            Authorization: 'bearer root-token',
          },
          ...(method === 'POST' ? { body: '{}' } : {}),
        });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.match(res.json<{ error: string }>().error, /come from the TMF637 product inventory/);
      }
    }
    assert.equal(await f.store.listMarketplaceKeys().then((keys) => keys.length), 0);
    const units = await request(`${f.url}/accounting_proxy/units`);
    assert.equal(units.status, 200);
  });
});
