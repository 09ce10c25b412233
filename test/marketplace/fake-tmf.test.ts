/** The TMF v4 stand-in answers as tmforum-api does (tmf-v4.md Part B), before the proxy is tested against it. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../support/client.ts';
import { listenOnLoopback, type TestServer } from '../support/http-server.ts';
import { FakeTmf, TMF_PATHS } from '../support/tmf/fake-tmf.ts';

describe('TMF v4 stand-in', () => {
  let tmf: FakeTmf;
  let listener: TestServer;
  const received: { url: string; body: string }[] = [];
  let failFirst = 2;
  before(async () => {
    tmf = await new FakeTmf({ usagePut: true, eventBackoffMs: 5 }).start();
    tmf.organizations.set('urn:ngsi-ld:organization:seller', {
      id: 'urn:ngsi-ld:organization:seller',
    });
    listener = await listenOnLoopback((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        if (failFirst-- > 0) return res.writeHead(500).end();
        received.push({ url: req.url ?? '', body });
        res.writeHead(204).end();
      });
    });
  });
  after(async () => {
    await tmf.stop();
    await listener.close();
  });

  const usage = {
    usageDate: '2026-12-06T10:59:59.123Z',
    status: 'received',
    relatedParty: [
      { id: 'urn:ngsi-ld:organization:seller', role: 'Seller', '@referredType': 'Organization' },
    ],
    usageCharacteristic: [{ name: 'api call', valueType: 'number', value: 3 }],
    ratedProductUsage: [{ productRef: { id: 'urn:ngsi-ld:product:p1' } }],
  };
  const call = (method: string, path: string, body?: unknown) =>
    request(`${tmf.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  test('a usage is validated against the OpenAPI file, its parties checked, PUT with an id once', async () => {
    const created = await call('POST', `${TMF_PATHS.usage}/usage`, usage);
    assert.equal(created.status, 201);
    assert.match(created.json<{ id: string }>().id, /^urn:ngsi-ld:usage:/);
    const invalid = await call('POST', `${TMF_PATHS.usage}/usage`, {
      ...usage,
      status: 'Received',
    });
    assert.equal(invalid.status, 400);
    assert.match(
      tmf.invalid[0] ?? '',
      /Usage_Create: \/status must be equal to one of the allowed values/,
    );
    const stranger = { ...usage, relatedParty: [{ id: 'urn:x', '@referredType': 'Organization' }] };
    assert.equal((await call('POST', `${TMF_PATHS.usage}/usage`, stranger)).status, 400);
    const id = 'urn:ngsi-ld:usage:5f0c8a2e-0000-5000-8000-000000000001';
    assert.equal((await call('PUT', `${TMF_PATHS.usage}/usage/${id}`, usage)).status, 201);
    assert.equal((await call('PUT', `${TMF_PATHS.usage}/usage/${id}`, usage)).status, 409);
    const listed = await call('GET', `${TMF_PATHS.usage}/usage?offset=1&limit=5`);
    assert.deepEqual(
      listed.json<{ id: string }[]>().map((u) => u.id),
      [id],
    );
  });

  test('a subscription is made once (409 after), and events are retried until delivered', async () => {
    const callback = `${listener.url}/accounting_proxy/tmf/secret`;
    assert.equal(
      (await call('POST', `${TMF_PATHS.inventory}/hub`, { callback, query: '' })).status,
      201,
    );
    assert.equal(
      (await call('POST', `${TMF_PATHS.inventory}/hub`, { callback, query: '' })).status,
      409,
    );
    assert.equal((await call('POST', `${TMF_PATHS.inventory}/hub`, { query: '' })).status, 400);
    tmf.putProduct({ id: 'urn:ngsi-ld:product:p1', status: 'created' });
    tmf.putProduct({ id: 'urn:ngsi-ld:product:p1', status: 'active' });
    await tmf.eventsSettled();
    assert.deepEqual(received.map((r) => JSON.parse(r.body).eventType).sort(), [
      'ProductAttributeValueChangeEvent',
      'ProductCreateEvent',
      'ProductStateChangeEvent',
    ]);
    assert.ok(received.every((r) => r.url === '/accounting_proxy/tmf/secret'));
    const product = await call('GET', `${TMF_PATHS.inventory}/product/urn:ngsi-ld:product:p1`);
    assert.equal(product.json<{ status: string }>().status, 'active');
  });
});
