import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { createTestPki, type TestPki } from '../support/certificates.ts';
import { type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

interface Identity {
  cert: string;
  key: string;
}

/** A request over TLS; like the marketplace, it does not verify the proxy's certificate. */
function tls(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    identity?: Identity;
  },
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const { hostname, port, pathname } = new URL(url);
    const req = httpsRequest(
      {
        hostname,
        port,
        path: pathname,
        method: options.method ?? 'GET',
        headers: {
          ...(options.body ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
          ...options.headers,
        },
        rejectUnauthorized: false,
        agent: false,
        ...(options.identity
          ? { cert: readFileSync(options.identity.cert), key: readFileSync(options.identity.key) }
          : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const [sqlite] = storeBackends();

describe('admin API over HTTPS with the marketplace certificate', () => {
  let pki: TestPki;
  let f: ProxyFixture;
  before(async () => {
    pki = createTestPki();
    f = await startProxyFixture(sqlite?.database() ?? assert.fail('no store'), {
      ACCOUNTING_PROXY_HTTPS_CERT: pki.serverCert,
      ACCOUNTING_PROXY_HTTPS_KEY: pki.serverKey,
      ACCOUNTING_PROXY_HTTPS_CA: pki.ca,
    });
  });
  after(async () => {
    await f.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  const newBuy = (orderId: string, identity?: Identity) =>
    tls(`${f.url}/accounting_proxy/newBuy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        orderId,
        productId: 'p',
        customer: 'alice',
        productSpecification: { url: `${f.url}/svc`, unit: 'call', recordType: 'callusage' },
      }),
      ...(identity ? { identity } : {}),
    });

  test('accepts newBuy with a client certificate chained to the CA', async () => {
    const res = await newBuy('o-cert', { cert: pki.clientCert, key: pki.clientKey });
    assert.equal(res.status, 201, res.body);
    assert.match(JSON.parse(res.body)['API-KEY'], /^[0-9a-f]{32}$/);
  });

  test('refuses newBuy without a client certificate', async () => {
    const res = await newBuy('o-none');
    assert.equal(res.status, 401);
    assert.match(JSON.parse(res.body).error, /^Unauthorized: Client certificate required /);
    assert.equal(
      await f.store.findBuy({
        orderId: 'o-none',
        productId: 'p',
        customer: 'alice',
        publicPath: '/svc',
      }),
      undefined,
    );
  });

  test('refuses newBuy and deleteBuy with a certificate of another CA', async () => {
    const stranger = { cert: pki.strangerCert, key: pki.strangerKey };
    const res = await newBuy('o-stranger', stranger);
    assert.equal(res.status, 401);
    assert.match(JSON.parse(res.body).error, /^Unauthorized: Client certificate required /);
    const deleted = await tls(`${f.url}/accounting_proxy/deleteBuy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        orderId: 'o-cert',
        productId: 'p',
        customer: 'alice',
        productSpecification: { url: `${f.url}/svc` },
      }),
      identity: stranger,
    });
    assert.equal(deleted.status, 401);
    assert.ok(
      await f.store.findBuy({
        orderId: 'o-cert',
        productId: 'p',
        customer: 'alice',
        publicPath: '/svc',
      }),
    );
  });

  test('serves consumers without client certificates, and units without credentials', async () => {
    const res = await tls(`${f.url}/svc/echo`, { headers: f.buyer() });
    assert.equal(res.status, 200);
    const units = await tls(`${f.url}/accounting_proxy/units`, {});
    assert.equal(units.status, 200);
  });

  test('keys lists https URLs', async () => {
    const res = await tls(`${f.url}/accounting_proxy/keys`, {
      headers: { authorization: 'Bearer alice-token' },
    });
    assert.equal(res.status, 200);
    for (const key of JSON.parse(res.body) as { url: string }[])
      assert.match(key.url, /^https:\/\/127\.0\.0\.1:\d+\//);
  });
});
